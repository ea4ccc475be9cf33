// TLSClientContext: an immutable, shareable SSL_CTX for our upstream SMTP/IMAP
// clients. Verifies the server against the system CAs or one configured CA file
// (then only that file); host names are checked per session (TLSSession client init).
// Limits: no client certificates, no session resumption, no certificate pinning.
internal import COpenSSL
internal import CSSLShim
import Synchronization

public final class TLSClientContext: Sendable {
    // See TLSServerContext: the Mutex only makes the pointer Sendable.
    private let context: Mutex<OpaquePointer>
    /// The CA file in use, or nil for the system's default verify paths.
    public let caFile: String?

    /// caFile nil: trust the system CAs (SSL_CTX_set_default_verify_paths).
    public convenience init(caFile: String? = nil) throws(TLSError) {
        try self.init(caFile: caFile, testingMaximumVersion: nil)
    }

    /// testingMaximumVersion lets tests play an old client (e.g. TLS 1.1 only);
    /// it also drops the security level to 0 so OpenSSL will offer that version.
    init(caFile: String?, testingMaximumVersion: Int32?) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError(code: .contextSetup, message: "cannot create a client TLS context",
                           openSSLReason: drainOpenSSLErrors().text)
        }
        do throws(TLSError) {
            if let testingMaximumVersion {
                _ = SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0")
                _ = mg_ssl_ctx_set_max_proto_version(ctx, testingMaximumVersion)
                _ = mg_ssl_ctx_set_options(ctx, MG_SSL_OP_NO_COMPRESSION | MG_SSL_OP_NO_RENEGOTIATION)
                _ = mg_ssl_ctx_set_mode(ctx, Int(SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE
                                                 | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
            } else {
                try applyCommonPolicy(ctx, what: "client")
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            if let caFile {
                if SSL_CTX_load_verify_locations(ctx, caFile, nil) != 1 {
                    throw TLSError(code: .caFile, message: "cannot load the CA file", file: caFile,
                                   openSSLReason: drainOpenSSLErrors().text)
                }
            } else if SSL_CTX_set_default_verify_paths(ctx) != 1 {
                throw TLSError(code: .contextSetup, message: "cannot load the system CA certificates",
                               openSSLReason: drainOpenSSLErrors().text)
            }
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        context = Mutex(ctx)
        self.caFile = caFile
    }

    deinit {
        context.withLock { SSL_CTX_free($0) }
    }

    func makeSSL() -> OpaquePointer? {
        context.withLock { SSL_new($0) }
    }
}
