// The `oauth2 = { ... }` table of an [[account]]: token_url (https://, or
// http:// only to a loopback address), client_id, client_secret_file
// (optional: public clients), refresh_token_file, scope and ca_file
// (optional). Secret files join the loader's 0600 check. It replaces
// password_file and oauth2_token_file: the refreshed token lives in PostgreSQL.

extension WebURL {
    /// Whether the host is "localhost" or a loopback IP literal (127.0.0.0/8, ::1).
    public var isLoopback: Bool {
        if host == "localhost" { return true }
        guard let address = IPAddress.parse(host) else { return false }
        if let v4 = address.unmappedIPv4 { return v4[0] == 127 }
        return address.bytes == [UInt8](repeating: 0, count: 15) + [1]
    }
}

extension SectionReaders {
    static let tokenURLExpected = #"an https:// URL like "https://oauth2.example.test/token""#

    /// Reads the table; nil when a required part is missing or wrong (each reported).
    mutating func readOAuth2(_ table: TableReader) -> OAuth2RefreshConfig? {
        defer { table.finish() }
        var tokenURL = table.parsed("token_url", required: true, expected: Self.tokenURLExpected, parse: WebURL.parse)
        if let url = tokenURL, !url.isHTTPS, !url.isLoopback {
            table.report("token_url", "http:// sends the client secret and tokens in clear text and is allowed only "
                + "to a loopback address (127.0.0.1, ::1, localhost); use https://")
            tokenURL = nil
        }
        let clientID = table.parsed("client_id", required: true, expected: "the client identifier issued to mailgate") {
            $0.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) ? nil : $0
        }
        let secretFile = table.string("client_secret_file", expected: "the path of a secret file")
        if let secretFile {
            secrets.append(SecretReference(key: table.keyPath("client_secret_file"), path: secretFile,
                                           mayBeMissing: false))
        }
        let refreshFile = table.string("refresh_token_file", required: true, expected: "the path of a secret file")
        if let refreshFile {
            secrets.append(SecretReference(key: table.keyPath("refresh_token_file"), path: refreshFile,
                                           mayBeMissing: false))
        }
        let scope = table.parsed("scope", expected: #"space-separated scopes like "https://mail.google.com/""#) {
            $0.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
                ? nil : $0
        }
        let caFile = table.string("ca_file", expected: "the path of a CA certificate file (PEM)")
        if caFile != nil, let url = tokenURL, !url.isHTTPS {
            table.report("ca_file", "ca_file is for https:// token URLs; \"\(url.text)\" is plain http")
        }
        guard let tokenURL, let clientID, let refreshFile else { return nil }
        return OAuth2RefreshConfig(tokenURL: tokenURL, clientID: clientID, clientSecretFile: secretFile,
                                   refreshTokenFile: refreshFile, scope: scope, caFile: caFile)
    }
}
