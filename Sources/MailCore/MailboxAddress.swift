// A mailbox address as local part and domain, plus send-as patterns ("*@domain" or an exact
// address) used for users and upstream accounts alike. Domains compare ASCII case-insensitively,
// local parts exactly. Parsing lives with each protocol (SMTP paths, RFC 5322 headers).

public struct MailboxAddress: Sendable, Hashable, CustomStringConvertible {
    /// As it goes on the wire: dot-string, or a quoted string when the content needs quoting.
    public var localPart: String
    /// As written (not lower-cased); compare with `domain.lowercased()`.
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    public var description: String { "\(localPart)@\(domain)" }
    public var isASCII: Bool { localPart.utf8.allSatisfy { $0 < 0x80 } && domain.utf8.allSatisfy { $0 < 0x80 } }
}

/// One entry of a user's send-as list: `*@domain` (any local part at that domain) or an exact
/// address. Domains compare ASCII case-insensitively; local parts compare exactly.
public enum SendAsPattern: Sendable, Hashable {
    case anyAtDomain(String)
    case exact(localPart: String, domain: String)

    /// Parses `*@example.test` or `user@example.test`; nil when there is no usable `@`.
    public init?(_ text: String) {
        guard let at = text.lastIndex(of: "@") else { return nil }
        let local = String(text[..<at])
        let domain = String(text[text.index(after: at)...])
        guard !local.isEmpty, !domain.isEmpty else { return nil }
        if local == "*" {
            self = .anyAtDomain(domain.lowercased())
        } else {
            self = .exact(localPart: local, domain: domain.lowercased())
        }
    }

    public func matches(_ address: MailboxAddress) -> Bool {
        switch self {
        case .anyAtDomain(let domain):
            return address.domain.lowercased() == domain
        case .exact(let localPart, let domain):
            return address.localPart == localPart && address.domain.lowercased() == domain
        }
    }
}
