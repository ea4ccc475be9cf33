// What a TLSSession negotiated, for logs and Received: headers (RFC 3848 style:
// "TLS1.3 TLS_AES_256_GCM_SHA384"). All nil before the handshake is done.
internal import COpenSSL
internal import CSSLShim

extension TLSSession {
    /// OpenSSL's version name, e.g. "TLSv1.3".
    public var protocolVersion: String? {
        guard isEstablished, let name = SSL_get_version(ssl) else { return nil }
        return String(cString: name)
    }

    /// The IANA/RFC name of the cipher suite, e.g. "TLS_AES_256_GCM_SHA384"
    /// or "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".
    public var cipherName: String? {
        guard isEstablished, let cipher = SSL_get_current_cipher(ssl),
              let name = SSL_CIPHER_standard_name(cipher) else { return nil }
        return String(cString: name)
    }

    /// Secret bits of the cipher (e.g. 256).
    public var cipherBits: Int? {
        guard isEstablished, let cipher = SSL_get_current_cipher(ssl) else { return nil }
        return Int(SSL_CIPHER_get_bits(cipher, nil))
    }

    /// "TLS1.3 TLS_AES_256_GCM_SHA384": version without the "v", then the suite.
    public var receivedHeaderDescription: String? {
        guard let version = protocolVersion, let cipher = cipherName else { return nil }
        let compact = version.hasPrefix("TLSv") ? "TLS" + version.dropFirst(4) : version
        return "\(compact) \(cipher)"
    }

    /// The peer's certificate (servers: only if the client sent one; we never ask).
    public var peerCertificate: TLSCertificateSummary? {
        guard let certificate = SSL_get0_peer_certificate(ssl) else { return nil }
        return summarizeCertificate(certificate)
    }

    /// RFC 2253 subject of the peer's certificate.
    public var peerCertificateSubject: String? { peerCertificate?.subject }

    /// Server sessions: the SNI name the client asked for, if any.
    public var requestedServerName: String? {
        guard let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }
}
