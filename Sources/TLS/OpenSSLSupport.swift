// Small helpers over OpenSSL shared by contexts and sessions: draining the
// thread-local error queue into text, reading a memory BIO into a String,
// summarising an X509 certificate for logs. Internal; no OpenSSL type leaks out.
internal import COpenSSL
internal import CSSLShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The reasons on this thread's OpenSSL error queue, oldest first, and empties it.
/// Also returns the first packed error code (0 when the queue was empty).
func drainOpenSSLErrors() -> (text: String, first: UInt) {
    var reasons: [String] = []
    var first: UInt = 0
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        if first == 0 { first = code }
        if let reason = ERR_reason_error_string(code) {
            reasons.append(String(cString: reason))
        } else {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        if reasons.count > 8 { ERR_clear_error(); break }
    }
    return (reasons.joined(separator: "; "), first)
}

/// Runs `body` with a fresh memory BIO and returns what it printed there.
func printedByOpenSSL(_ body: (OpaquePointer) -> Void) -> String {
    guard let bio = BIO_new(BIO_s_mem()) else { return "" }
    defer { BIO_free(bio) }
    body(bio)
    var data: UnsafeMutablePointer<CChar>? = nil
    let count = mg_bio_get_mem_data(bio, &data)
    guard count > 0, let data else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: data, count: Int(count)), as: UTF8.self)
}

/// A certificate as logs and Received: headers want it.
public struct TLSCertificateSummary: Sendable, Equatable, CustomStringConvertible {
    /// RFC 2253 subject, e.g. "CN=localhost,O=mailgate dev".
    public let subject: String
    /// RFC 2253 issuer.
    public let issuer: String
    /// notAfter as ISO 8601 UTC, e.g. "2027-01-31T12:00:00Z" (or OpenSSL's text if unparsable).
    public let notAfter: String
    /// notAfter in seconds since the epoch, nil if OpenSSL could not convert it.
    public let notAfterEpochSeconds: Int?
    /// The subjectAltName extension as OpenSSL prints it ("DNS:localhost, IP Address:127.0.0.1"), or "".
    public let subjectAlternativeNames: String

    public var description: String {
        "subject=\"\(subject)\" issuer=\"\(issuer)\" notAfter=\(notAfter) san=\"\(subjectAlternativeNames)\""
    }
}

func summarizeCertificate(_ certificate: OpaquePointer) -> TLSCertificateSummary {
    let subject = printedByOpenSSL { bio in
        _ = X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, MG_XN_FLAG_RFC2253)
    }
    let issuer = printedByOpenSSL { bio in
        _ = X509_NAME_print_ex(bio, X509_get_issuer_name(certificate), 0, MG_XN_FLAG_RFC2253)
    }
    var notAfterText = ""
    var epoch: Int? = nil
    if let time = X509_get0_notAfter(certificate) {
        var parts = tm()
        if ASN1_TIME_to_tm(time, &parts) == 1 {
            epoch = Int(timegm(&parts))
            notAfterText = iso8601(parts)
        } else {
            notAfterText = printedByOpenSSL { bio in _ = ASN1_TIME_print(bio, time) }
        }
    }
    var sans = ""
    let index = X509_get_ext_by_NID(certificate, NID_subject_alt_name, -1)
    if index >= 0, let extensionPointer = X509_get_ext(certificate, index) {
        sans = printedByOpenSSL { bio in _ = X509V3_EXT_print(bio, extensionPointer, 0, 0) }
    }
    return TLSCertificateSummary(subject: subject, issuer: issuer, notAfter: notAfterText,
                                 notAfterEpochSeconds: epoch, subjectAlternativeNames: sans)
}

private func iso8601(_ t: tm) -> String {
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec))Z"
}

/// Policy shared by server and client contexts: TLS 1.2 minimum, no compression,
/// no renegotiation (a DoS and injection vector we never need), record buffers
/// released while idle (SSL_MODE_RELEASE_BUFFERS), partial writes allowed, and
/// never a terminal prompt for an encrypted key.
func applyCommonPolicy(_ context: OpaquePointer, what: String) throws(TLSError) {
    let options = MG_SSL_OP_NO_COMPRESSION | MG_SSL_OP_NO_RENEGOTIATION
    _ = mg_ssl_ctx_set_options(context, options)
    // Not SSL_OP_IGNORE_UNEXPECTED_EOF: a stream that ends without close_notify
    // must stay distinguishable from a clean close (truncation attacks).
    let mode = Int(SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
    _ = mg_ssl_ctx_set_mode(context, mode)
    SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
    if mg_ssl_ctx_set_min_proto_version(context, MG_TLS1_2_VERSION) != 1 {
        throw TLSError(code: .contextSetup, message: "cannot set TLS 1.2 as the minimum for the \(what) context",
                       openSSLReason: drainOpenSSLErrors().text)
    }
}
