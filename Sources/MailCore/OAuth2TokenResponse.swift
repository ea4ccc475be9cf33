// The answer of an OAuth2 token endpoint to a refresh_token grant (RFC 6749
// §5.1 success, §5.2 error), read from the HTTP status and JSON body. Tokens
// must be visible ASCII (they go inside XOAUTH2's ^A-separated string), at most
// 16 KiB; expires_in is a non-negative integer (a digit string is accepted, as
// some providers send one); token_type, when present, must be Bearer.

public struct OAuth2Grant: Sendable, Equatable, CustomStringConvertible {
    public var accessToken: String
    /// Seconds the access token lives; nil when the endpoint did not say.
    public var expiresIn: Int?
    /// A new refresh token (rotation); nil: keep using the old one.
    public var refreshToken: String?

    public init(accessToken: String, expiresIn: Int?, refreshToken: String?) {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
    }

    /// Never shows a token.
    public var description: String {
        "OAuth2Grant(expires_in: \(expiresIn.map(String.init) ?? "none"), new refresh token: \(refreshToken != nil))"
    }
}

/// Why an answer gives no token. Texts are safe to log: no token, bounded, printable.
public enum OAuth2TokenProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// §5.2: the endpoint refused, with its error code (e.g. "invalid_grant") and HTTP status.
    case refused(status: Int, error: String)
    /// A non-2xx status without an OAuth2 error body.
    case httpStatus(Int)
    /// A 2xx answer that is not a usable §5.1 answer; the text says what is wrong.
    case malformed(String)

    public var description: String {
        switch self {
        case .refused(let status, let error): "refused (HTTP \(status)): \(error)"
        case .httpStatus(let status): "HTTP status \(status)"
        case .malformed(let why): "malformed answer: \(why)"
        }
    }
}

public enum OAuth2TokenResponse {
    public static let maxTokenLength = 16384
    /// Longest lifetime believed: ten years (larger values are clamped, never overflow).
    public static let maxExpiresIn = 10 * 366 * 86_400

    public static func parse(status: Int, body: [UInt8]) -> Result<OAuth2Grant, OAuth2TokenProblem> {
        let members = JSONObjectReader.members(body)
        guard (200...299).contains(status) else {
            if case .string(let code)? = members?["error"] {
                return .failure(.refused(status: status, error: printable(code)))
            }
            return .failure(.httpStatus(status))
        }
        guard let members else { return .failure(.malformed("not a JSON object")) }
        guard case .string(let access)? = members["access_token"] else {
            if case .string(let code)? = members["error"] {
                return .failure(.refused(status: status, error: printable(code)))
            }
            return .failure(.malformed("no access_token string"))
        }
        guard isToken(access) else { return .failure(.malformed("access_token is empty, too long or not visible ASCII")) }
        switch members["token_type"] {
        case nil, .null?:
            break
        case .string(let type)? where type.lowercased() == "bearer":
            break
        case .some(let other):
            return .failure(.malformed("token_type is \(describe(other)), not Bearer"))
        }
        var expiresIn: Int?
        switch members["expires_in"] {
        case nil, .null?:
            break
        case .number(let text)?, .string(let text)?:
            guard let seconds = seconds(text) else {
                return .failure(.malformed("expires_in is not a whole number of seconds"))
            }
            expiresIn = seconds
        case .some(let other):
            return .failure(.malformed("expires_in is \(describe(other))"))
        }
        var refresh: String?
        switch members["refresh_token"] {
        case nil, .null?:
            break
        case .string(let text)?:
            guard isToken(text) else { return .failure(.malformed("refresh_token is empty, too long or not visible ASCII")) }
            refresh = text
        case .some(let other):
            return .failure(.malformed("refresh_token is \(describe(other))"))
        }
        return .success(OAuth2Grant(accessToken: access, expiresIn: expiresIn, refreshToken: refresh))
    }

    /// Visible ASCII (0x21...0x7E), 1 to maxTokenLength bytes.
    public static func isToken(_ text: String) -> Bool {
        let count = text.utf8.count
        return count > 0 && count <= maxTokenLength && text.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    /// Digits only ("3600"; "1e3", "-1" and "3.5" are refused), clamped at maxExpiresIn.
    static func seconds(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        var value = 0
        for digit in text.utf8 {
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
            if value > maxExpiresIn { return maxExpiresIn }
        }
        return value
    }

    /// An error code as logged: visible ASCII and spaces, quotes and backslashes dropped, at most 64 bytes.
    static func printable(_ text: String) -> String {
        let kept = text.utf8.filter { $0 >= 0x20 && $0 <= 0x7E && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        let clipped = String(decoding: kept.prefix(64), as: UTF8.self)
        return clipped.isEmpty ? "(empty)" : clipped
    }

    private static func describe(_ value: JSONScalar) -> String {
        switch value {
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        case .nested: "an object or array"
        }
    }
}
