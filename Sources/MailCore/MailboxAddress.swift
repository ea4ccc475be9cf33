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

/// One entry of a send-as list (users and accounts alike): `*@domain` (any local part at that
/// domain, subdomains excluded) or an exact address. Domains are stored lower-cased and compare
/// case-insensitively; local parts compare exactly, as RFC 5321 says.
public enum SendAsPattern: Sendable, Hashable, CustomStringConvertible {
    case anyAtDomain(String)
    case exact(localPart: String, domain: String)

    /// Parses `*@example.test` or `user@example.test`; nil for anything not address-shaped
    /// (quoted local parts, wildcards elsewhere, malformed domains).
    public init?(_ text: String) {
        guard let (local, domain) = Self.splitAddress(text) else { return nil }
        if local == "*" {
            self = .anyAtDomain(domain)
        } else {
            guard !local.contains("*") else { return nil }
            self = .exact(localPart: local, domain: domain)
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

    /// Matches an address written without angle brackets; false for anything not address-shaped.
    public func matches(_ address: String) -> Bool {
        guard let (local, domain) = Self.splitAddress(address), local != "*" else { return false }
        return matches(MailboxAddress(localPart: local, domain: domain))
    }

    public var description: String {
        switch self {
        case .exact(let local, let domain): return "\(local)@\(domain)"
        case .anyAtDomain(let domain): return "*@\(domain)"
        }
    }

    /// Splits at the only "@"; the domain comes back lower-cased. nil for anything not address-shaped.
    public static func splitAddress(_ text: String) -> (String, String)? {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64,
              parts[0].utf8.allSatisfy(isUnquotedLocalPartByte),
              MailboxAddress.isDomainName(parts[1]) else { return nil }
        return (String(parts[0]), parts[1].lowercased())
    }

    private static func isUnquotedLocalPartByte(_ byte: UInt8) -> Bool {
        // Printable ASCII except specials that need quoting, plus UTF-8 (SMTPUTF8).
        switch byte {
        case 0..<33, 127, UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\\"),
             UInt8(ascii: "\""), UInt8(ascii: "["), UInt8(ascii: "]"):
            return false
        default:
            return true
        }
    }
}

extension MailboxAddress {
    /// Whether `text` is a dotted domain name: labels of letters, digits, hyphens
    /// (or UTF-8 for internationalised names), 1-63 bytes each, 255 in all.
    public static func isDomainName<S: StringProtocol>(_ text: S) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            guard !label.isEmpty, label.count <= 63, label.first != UInt8(ascii: "-"),
                  label.last != UInt8(ascii: "-") else { return false }
            return label.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), 0x80...0xff:
                    return true
                default:
                    return false
                }
            }
        }
    }
}
