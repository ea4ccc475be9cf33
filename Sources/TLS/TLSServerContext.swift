// TLSServerContext: an immutable, shareable SSL_CTX for our listeners, built from
// a PEM certificate chain file and a PEM private key file. Reload (SIGHUP) means
// building a new one and swapping it in a TLSServerContextHolder; sessions made
// from the old one keep it alive through OpenSSL's reference count.
// Limits: no client certificates, no SNI-based certificate selection, no OCSP.
internal import COpenSSL
internal import CSSLShim
import Synchronization

public final class TLSServerContext: Sendable {
    /// TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only; TLS 1.3 uses OpenSSL's defaults.
    static let tls12Ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        + "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

    // The Mutex is there only because OpaquePointer is not Sendable; OpenSSL
    // itself allows concurrent SSL_new on a configured SSL_CTX. Held for
    // SSL_new only, never across I/O.
    private let context: Mutex<OpaquePointer>
    public let certificateChainFile: String
    public let privateKeyFile: String
    private let summary: TLSCertificateSummary

    /// Loads the chain (leaf first, then intermediates) and the key, and checks they match.
    /// Errors name the file and carry OpenSSL's reason.
    public init(certificateChainFile: String, privateKeyFile: String) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError(code: .contextSetup, message: "cannot create a server TLS context",
                           openSSLReason: drainOpenSSLErrors().text)
        }
        do throws(TLSError) {
            try applyCommonPolicy(ctx, what: "server")
            _ = mg_ssl_ctx_set_options(ctx, MG_SSL_OP_CIPHER_SERVER_PREFERENCE)
            // No server-side session cache: nothing grows with the number of clients.
            // Stateless tickets (one per handshake) still allow resumption.
            _ = mg_ssl_ctx_set_session_cache_mode(ctx, MG_SSL_SESS_CACHE_OFF)
            _ = SSL_CTX_set_num_tickets(ctx, 1)
            if SSL_CTX_set_cipher_list(ctx, Self.tls12Ciphers) != 1 {
                throw TLSError(code: .contextSetup, message: "cannot set the TLS 1.2 cipher list",
                               openSSLReason: drainOpenSSLErrors().text)
            }
            if SSL_CTX_use_certificate_chain_file(ctx, certificateChainFile) != 1 {
                throw TLSError(code: .certificateFile, message: "cannot load the certificate chain",
                               file: certificateChainFile, openSSLReason: drainOpenSSLErrors().text)
            }
            if SSL_CTX_use_PrivateKey_file(ctx, privateKeyFile, SSL_FILETYPE_PEM) != 1 {
                let (reason, first) = drainOpenSSLErrors()
                if ERR_GET_LIB(first) == ERR_LIB_X509 && ERR_GET_REASON(first) == X509_R_KEY_VALUES_MISMATCH {
                    throw TLSError(code: .keyMismatch,
                                   message: "the private key does not match the certificate in \(certificateChainFile)",
                                   file: privateKeyFile, openSSLReason: reason)
                }
                throw TLSError(code: .privateKeyFile, message: "cannot load the private key",
                               file: privateKeyFile, openSSLReason: reason)
            }
            if SSL_CTX_check_private_key(ctx) != 1 {
                throw TLSError(code: .keyMismatch,
                               message: "the private key does not match the certificate in \(certificateChainFile)",
                               file: privateKeyFile, openSSLReason: drainOpenSSLErrors().text)
            }
            guard let leaf = SSL_CTX_get0_certificate(ctx) else {
                throw TLSError(code: .certificateFile, message: "no certificate found",
                               file: certificateChainFile, openSSLReason: drainOpenSSLErrors().text)
            }
            summary = summarizeCertificate(leaf)
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        context = Mutex(ctx)
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }

    deinit {
        context.withLock { SSL_CTX_free($0) }
    }

    /// The leaf certificate, for logs at start-up and reload.
    public func describe() -> TLSCertificateSummary { summary }

    /// A new SSL on this context (OpenSSL takes a reference on the SSL_CTX).
    func makeSSL() -> OpaquePointer? {
        context.withLock { SSL_new($0) }
    }
}

/// The listener's current server context, swapped on reload. Sessions already
/// running keep the context they were made from.
public final class TLSServerContextHolder: Sendable {
    private let slot: Mutex<TLSServerContext>

    public init(_ context: TLSServerContext) {
        slot = Mutex(context)
    }

    /// The context new connections should use.
    public var current: TLSServerContext {
        slot.withLock { $0 }
    }

    /// Builds a context from the files and swaps it in. On error the current
    /// context stays in place and the error says which file is wrong.
    @discardableResult
    public func reload(certificateChainFile: String, privateKeyFile: String) throws(TLSError) -> TLSServerContext {
        let fresh = try TLSServerContext(certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile)
        slot.withLock { $0 = fresh }
        return fresh
    }

    /// Rebuilds from the current context's own file names (certificate renewal in place).
    @discardableResult
    public func reload() throws(TLSError) -> TLSServerContext {
        let old = current
        return try reload(certificateChainFile: old.certificateChainFile, privateKeyFile: old.privateKeyFile)
    }
}
