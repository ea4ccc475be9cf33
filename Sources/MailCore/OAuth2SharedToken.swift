// An account's refreshed OAuth2 token as every node shares it (one row's value
// in email_secrets): a version line, the fingerprint of the configuration it
// was obtained with, when it was obtained, its lifetime, the access token and
// the refresh token to use next (empty: the configured one). Decoding refuses
// anything else, so a row written by another version is simply refreshed over.

public struct OAuth2SharedToken: Sendable, Equatable, CustomStringConvertible {
    static let versionLine = "mailgate-oauth2-v1"

    /// Identifies token URL, client and configured refresh token: a changed config ignores the row.
    public var fingerprint: String
    public var lifetime: OAuth2TokenLifetime
    public var accessToken: String
    /// A rotated refresh token the endpoint returned; nil: the configured one still holds.
    public var refreshToken: String?

    public init(fingerprint: String, lifetime: OAuth2TokenLifetime, accessToken: String, refreshToken: String?) {
        self.fingerprint = fingerprint
        self.lifetime = lifetime
        self.accessToken = accessToken
        self.refreshToken = refreshToken
    }

    public var description: String {
        "OAuth2SharedToken(obtained: \(lifetime.obtainedAtMilliseconds), lifetime: \(lifetime.lifetimeSeconds)s)"
    }

    public func encoded() -> [UInt8] {
        Array([Self.versionLine, fingerprint, String(lifetime.obtainedAtMilliseconds), String(lifetime.lifetimeSeconds),
               accessToken, refreshToken ?? ""].joined(separator: "\n").utf8)
    }

    public static func decode(_ bytes: [UInt8]) -> OAuth2SharedToken? {
        guard bytes.count <= 4 * OAuth2TokenResponse.maxTokenLength,
              let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count == 6, lines[0] == versionLine, !lines[1].isEmpty,
              let obtained = Int64(lines[2]), obtained >= 0,
              let lifetime = OAuth2TokenResponse.seconds(lines[3]),
              OAuth2TokenResponse.isToken(lines[4]),
              lines[5].isEmpty || OAuth2TokenResponse.isToken(lines[5]) else { return nil }
        return OAuth2SharedToken(fingerprint: lines[1],
                                 lifetime: OAuth2TokenLifetime(obtainedAtMilliseconds: obtained, expiresIn: lifetime),
                                 accessToken: lines[4], refreshToken: lines[5].isEmpty ? nil : lines[5])
    }
}
