// Mail-shaped config values: upstream URLs (smtp://, smtps://, smtp+plain://, imap://, imaps://,
// imap+plain://) and web URLs (send_as patterns are MailCore's SendAsPattern). No credentials in URLs: they live in secret files.

import MailCore

/// Where an account's SMTP or IMAP server is, and how to secure the connection.
public struct UpstreamURL: Hashable, Sendable, CustomStringConvertible {
    public enum Scheme: String, Hashable, Sendable, CaseIterable {
        case smtp, smtps, smtpPlain = "smtp+plain", imap, imaps, imapPlain = "imap+plain"
    }

    public enum Security: Hashable, Sendable {
        /// Plain connect, then STARTTLS, which must succeed (smtp://, imap://).
        case startTLS
        /// TLS from the first byte (smtps://, imaps://).
        case implicitTLS
        /// No TLS at all: loopback smarthosts and test sinks only (smtp+plain://, imap+plain://).
        case none
    }

    public let scheme: Scheme
    /// Lower-cased name or IP literal, without brackets.
    public let host: String
    public let port: UInt16

    public var security: Security {
        switch scheme {
        case .smtp, .imap: return .startTLS
        case .smtps, .imaps: return .implicitTLS
        case .smtpPlain, .imapPlain: return .none
        }
    }

    public var isSMTP: Bool {
        switch scheme {
        case .smtp, .smtps, .smtpPlain: return true
        case .imap, .imaps, .imapPlain: return false
        }
    }

    /// Port used when the URL names none: 587, 465, 25 for SMTP; 143, 993, 143 for IMAP.
    public static func defaultPort(for scheme: Scheme) -> UInt16 {
        switch scheme {
        case .smtp: return 587
        case .smtps: return 465
        case .smtpPlain: return 25
        case .imap: return 143
        case .imaps: return 993
        case .imapPlain: return 143
        }
    }

    /// Whether the host is "localhost" or a loopback IP literal (127.0.0.0/8, ::1).
    public var isLoopback: Bool {
        if host == "localhost" { return true }
        guard let address = IPAddress.parse(host) else { return false }
        if let v4 = address.unmappedIPv4 { return v4[0] == 127 }
        return address.bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    public init(scheme: Scheme, host: String, port: UInt16) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// nil unless `text` is `scheme://host[:port][/]` with one of the six schemes.
    public static func parse(_ text: String) -> UpstreamURL? {
        switch parseExplained(text) {
        case .success(let url): return url
        case .failure: return nil
        }
    }

    /// Like `parse`, with the reason for a refusal (for config messages).
    static func parseExplained(_ text: String) -> Result<UpstreamURL, Refusal> {
        guard let separator = text.firstRange(of: "://") else { return .failure(Refusal("no scheme")) }
        let schemeText = text[..<separator.lowerBound].lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else {
            return .failure(Refusal("unknown scheme \"\(schemeText)\""))
        }
        var rest = text[separator.upperBound...]
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains("@") {
            return .failure(Refusal("credentials do not belong in the URL: use username and password_file"))
        }
        if rest.contains("/") || rest.contains("?") || rest.contains("#") {
            return .failure(Refusal("a server URL has no path or query"))
        }
        guard let (host, port) = splitHostPort(rest) else { return .failure(Refusal("bad host or port")) }
        return .success(UpstreamURL(scheme: scheme, host: host, port: port ?? defaultPort(for: scheme)))
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue)://\(shownHost):\(port)"
    }
}

/// A reason a value was refused, for messages.
struct Refusal: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// "host", "host:port", "[v6]" or "[v6]:port" with host a domain name or IP literal.
func splitHostPort(_ text: Substring) -> (host: String, port: UInt16?)? {
    var hostText: Substring
    var portText: Substring?
    if text.hasPrefix("[") {
        guard let close = text.firstIndex(of: "]") else { return nil }
        hostText = text[text.index(after: text.startIndex)..<close]
        guard IPAddress.parseIPv6(hostText) != nil else { return nil }
        let after = text[text.index(after: close)...]
        if !after.isEmpty {
            guard after.first == ":" else { return nil }
            portText = after.dropFirst()
        }
    } else {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        hostText = parts[0]
        if parts.count == 2 { portText = parts[1] }
        guard MailboxAddress.isDomainName(hostText) else { return nil }
    }
    var port: UInt16?
    if let portText {
        guard let parsed = SocketAddressSpec.parsePort(portText) else { return nil }
        port = parsed
    }
    return (hostText.lowercased(), port)
}

/// An http:// or https:// URL (webhooks, the public unsubscribe URL), kept as written.
public struct WebURL: Hashable, Sendable, CustomStringConvertible {
    public let text: String
    public let isHTTPS: Bool
    public let host: String

    /// nil unless `text` is http(s)://host[:port][/path...] with no spaces or credentials.
    public static func parse(_ text: String) -> WebURL? {
        let lower = text.lowercased()
        let isHTTPS = lower.hasPrefix("https://")
        guard isHTTPS || lower.hasPrefix("http://"),
              !text.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else { return nil }
        let rest = text.dropFirst(isHTTPS ? 8 : 7)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@"), let (host, _) = splitHostPort(authority) else { return nil }
        return WebURL(text: text, isHTTPS: isHTTPS, host: host)
    }

    public var description: String { text }
}
