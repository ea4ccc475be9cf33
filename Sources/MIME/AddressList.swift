// RFC 5322 address-list parsing: mailboxes, name-addr with display names,
// groups ("team: a@x, b@y;"), comments (nested, used as a display name when
// nothing else names the mailbox), quoted local parts, obsolete routes.
// Returns display name + normalised address (domain lower-cased, needless
// quotes removed). Never fails: junk between commas yields no entry.

public struct MailAddress: Sendable, Equatable {
    public var displayName: String?
    /// local@domain with the domain lower-cased; a bare local part when no domain was given.
    public var address: String
    public var group: String?

    public init(displayName: String?, address: String, group: String? = nil) {
        self.displayName = displayName
        self.address = address
        self.group = group
    }
}

public enum AddressList {
    public static func parse(_ value: String) -> [MailAddress] { parse(Array(value.utf8)) }

    public static func parse(_ bytes: [UInt8]) -> [MailAddress] {
        let tokens = tokenize(bytes)
        var result: [MailAddress] = []
        var current: [Token] = []
        var inAngle = false
        var group: String?
        for token in tokens {
            switch token {
            case .special(UInt8(ascii: "<")):
                inAngle = true
                current.append(token)
            case .special(UInt8(ascii: ">")):
                inAngle = false
                current.append(token)
            case .special(UInt8(ascii: ":")) where !inAngle && !current.contains(.special(UInt8(ascii: "@"))):
                group = phrase(current)
                current = []
            case .special(UInt8(ascii: ",")) where !inAngle:
                if let mailbox = finish(current, group: group) { result.append(mailbox) }
                current = []
            case .special(UInt8(ascii: ";")) where !inAngle:
                if let mailbox = finish(current, group: group) { result.append(mailbox) }
                current = []
                group = nil
            default:
                current.append(token)
            }
        }
        if let mailbox = finish(current, group: group) { result.append(mailbox) }
        return result
    }

    enum Token: Equatable {
        case atom(String)
        case quoted(String)
        case comment(String)
        case literal(String)
        case special(UInt8)
    }

    static func tokenize(_ bytes: [UInt8]) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        let specials = Set("()<>[]:;@\\,.\"".utf8)
        while index < bytes.count {
            let byte = bytes[index]
            if ASCII.isWhitespace(byte) { index += 1; continue }
            switch byte {
            case ASCII.quote:
                var out: [UInt8] = []
                index += 1
                while index < bytes.count, bytes[index] != ASCII.quote {
                    if bytes[index] == ASCII.backslash, index + 1 < bytes.count { index += 1 }
                    if bytes[index] != ASCII.cr, bytes[index] != ASCII.lf { out.append(bytes[index]) }
                    index += 1
                }
                index += 1
                tokens.append(.quoted(Text.string(out)))
            case UInt8(ascii: "("):
                var depth = 0
                var out: [UInt8] = []
                while index < bytes.count {
                    let current = bytes[index]
                    if current == ASCII.backslash, index + 1 < bytes.count { out.append(bytes[index + 1]); index += 2; continue }
                    if current == UInt8(ascii: "(") { depth += 1; if depth == 1 { index += 1; continue } }
                    if current == UInt8(ascii: ")") { depth -= 1; if depth == 0 { index += 1; break } }
                    out.append(current)
                    index += 1
                }
                tokens.append(.comment(Text.string(out).trimmingCharacters(in: .whitespaces)))
            case UInt8(ascii: "["):
                var out: [UInt8] = [byte]
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "]") { out.append(bytes[index]); index += 1 }
                out.append(UInt8(ascii: "]"))
                index += 1
                tokens.append(.literal(Text.string(out)))
            default:
                if specials.contains(byte) {
                    tokens.append(.special(byte))
                    index += 1
                    continue
                }
                let start = index
                while index < bytes.count, !ASCII.isWhitespace(bytes[index]), !specials.contains(bytes[index]) { index += 1 }
                tokens.append(.atom(Text.string(bytes[start..<index])))
            }
        }
        return tokens
    }

    private static func phrase(_ tokens: [Token]) -> String? {
        var words: [String] = []
        for token in tokens {
            switch token {
            case .atom(let text): words.append(text)
            case .quoted(let text): words.append(text)
            case .special(UInt8(ascii: ".")):
                if let last = words.popLast() { words.append(last + ".") } else { words.append(".") }
            case .special, .comment, .literal: continue
            }
        }
        let joined = words.joined(separator: " ")
        let decoded = EncodedWords.decode(Array(joined.utf8)).trimmingCharacters(in: .whitespaces)
        return decoded.isEmpty ? nil : decoded
    }

    private static func finish(_ tokens: [Token], group: String?) -> MailAddress? {
        guard !tokens.isEmpty else { return nil }
        if let open = tokens.firstIndex(of: .special(UInt8(ascii: "<"))) {
            var inner = Array(tokens[(open + 1)...])
            if let close = inner.firstIndex(of: .special(UInt8(ascii: ">"))) { inner = Array(inner[..<close]) }
            if let routeEnd = inner.lastIndex(of: .special(UInt8(ascii: ":"))) { inner = Array(inner[(routeEnd + 1)...]) }
            guard let address = addrSpec(inner) else { return nil }
            return MailAddress(displayName: phrase(Array(tokens[..<open])), address: address, group: group)
        }
        guard let address = addrSpec(tokens) else { return nil }
        var comment: String?
        for case .comment(let text) in tokens where !text.isEmpty { comment = text; break }
        return MailAddress(displayName: comment.map { EncodedWords.decode(Array($0.utf8)) }, address: address, group: group)
    }

    private static func addrSpec(_ tokens: [Token]) -> String? {
        var local = ""
        var domain = ""
        var seenAt = false
        for token in tokens {
            switch token {
            case .atom(let text):
                if seenAt { domain += text } else { local += text }
            case .quoted(let text):
                if seenAt { domain += text } else { local += needsQuoting(text) ? quote(text) : text }
            case .literal(let text):
                if seenAt { domain += text }
            case .special(UInt8(ascii: "@")):
                if seenAt { domain = "" }          // "a@b@c": keep the last domain
                seenAt = true
            case .special(UInt8(ascii: ".")):
                if seenAt { domain += "." } else { local += "." }
            case .special, .comment:
                continue
            }
        }
        guard !local.isEmpty else { return nil }
        return seenAt && !domain.isEmpty ? "\(local)@\(domain.lowercased())" : local
    }

    private static func needsQuoting(_ text: String) -> Bool {
        text.isEmpty || text.hasPrefix(".") || text.hasSuffix(".") || text.contains("..")
            || text.utf8.contains { $0 <= 32 || $0 == 127 || "()<>[]:;@\\,\"".utf8.contains($0) }
    }

    private static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
