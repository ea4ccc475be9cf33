// TLSError: every failure of the TLS module, with the file involved and
// OpenSSL's own words (its error queue and, for certificate checks, the X509
// verify result text such as "hostname mismatch"). A struct around a private
// code enum so new codes do not break callers: compare `error.code == .x`.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case certificateFile, privateKeyFile, keyMismatch, caFile, contextSetup
            case sessionSetup, invalidHostName, handshakeFailed, verificationFailed
            case protocolFailure, unexpectedEOF, sessionClosed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The certificate chain file is missing, unreadable or not PEM certificates.
        public static let certificateFile = Code(.certificateFile)
        /// The private key file is missing, unreadable, encrypted or not a PEM key.
        public static let privateKeyFile = Code(.privateKeyFile)
        /// The key does not belong to the certificate.
        public static let keyMismatch = Code(.keyMismatch)
        /// The CA file given to a client context could not be loaded.
        public static let caFile = Code(.caFile)
        /// OpenSSL refused to build or configure an SSL_CTX.
        public static let contextSetup = Code(.contextSetup)
        /// OpenSSL refused to build an SSL or its BIOs.
        public static let sessionSetup = Code(.sessionSetup)
        /// The server name given to a client session is empty or unusable.
        public static let invalidHostName = Code(.invalidHostName)
        /// The handshake failed (garbage, protocol version, alert from the peer...).
        public static let handshakeFailed = Code(.handshakeFailed)
        /// The client refused the server's certificate; see `verifyResult`.
        public static let verificationFailed = Code(.verificationFailed)
        /// A record after the handshake was bad (garbage, bad MAC, alert).
        public static let protocolFailure = Code(.protocolFailure)
        /// The peer's byte stream ended without close_notify (mid-handshake or
        /// afterwards: a possible truncation, never reported as a clean close).
        public static let unexpectedEOF = Code(.unexpectedEOF)
        /// Plaintext written after `shutdown()` or after the peer's close_notify.
        public static let sessionClosed = Code(.sessionClosed)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// Our sentence saying what was being done.
    public let message: String
    /// The file involved, for context errors.
    public let file: String?
    /// OpenSSL's reasons from its error queue, joined by "; " (may be empty).
    public let openSSLReason: String
    /// X509_verify_cert_error_string of the verify result, for `.verificationFailed`.
    public let verifyResult: String?

    public init(code: Code, message: String, file: String? = nil, openSSLReason: String = "",
                verifyResult: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.openSSLReason = openSSLReason
        self.verifyResult = verifyResult
    }

    public var description: String {
        var text = message
        if let file { text += " (file \(file))" }
        if let verifyResult { text += ": \(verifyResult)" }
        if !openSSLReason.isEmpty { text += " [OpenSSL: \(openSSLReason)]" }
        return text
    }
}
