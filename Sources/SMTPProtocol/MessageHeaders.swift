// The header section of a message as byte ranges (RFC 5322 §2.2: fields, folded continuation
// lines, the empty line before the body), and the From: address list (§3.4) for send-as checks.
// The header ends at the first empty line, or at a line that is neither a field nor a
// continuation (treated as body, like Postfix). Lines end in CRLF; bare LF was refused earlier.

import MailCore

public struct HeaderField: Sendable, Equatable {
    /// Lower-cased field name.
    public var name: String
    /// The whole field: name, colon, value, continuation lines and the final CRLF.
    public var range: Range<Int>
    /// The value after the colon, up to (not including) the final CRLF; still folded.
    public var valueRange: Range<Int>
}

public enum FromHeaderResult: Sendable, Equatable {
    case missing
    case multiple
    case unparseable
    case addresses([MailboxAddress])
}

public enum MessageHeaders {
    /// The header fields and the index where the body (or the blank line before it) starts.
    public static func fields(in message: [UInt8]) -> (fields: [HeaderField], headerEnd: Int) {
        var fields: [HeaderField] = []
        var index = 0
        while index < message.count {
            let lineEnd = endOfLine(message, from: index)
            if lineEnd == index { break }  // empty line (or CRLF at index): end of header
            let first = message[index]
            if first == 32 || first == 9 {
                // Continuation of the previous field; orphan continuations end the header.
                guard let last = fields.indices.last else { break }
                let next = nextLineStart(message, lineEnd: lineEnd)
                fields[last].range = fields[last].range.lowerBound..<next
                fields[last].valueRange = fields[last].valueRange.lowerBound..<lineEnd
                index = next
                continue
            }
            guard let colon = message[index..<lineEnd].firstIndex(of: UInt8(ascii: ":")), colon > index,
                  message[index..<colon].allSatisfy({ $0 > 32 && $0 < 127 }) else { break }
            let next = nextLineStart(message, lineEnd: lineEnd)
            let name = String(decoding: message[index..<colon], as: UTF8.self).lowercased()
            fields.append(HeaderField(name: name, range: index..<next, valueRange: (colon + 1)..<lineEnd))
            index = next
        }
        return (fields, index)
    }

    /// The value with folding CRLFs removed.
    public static func unfoldedValue(_ field: HeaderField, in message: [UInt8]) -> [UInt8] {
        message[field.valueRange].filter { $0 != 13 && $0 != 10 }
    }

    public static func fromAddresses(in message: [UInt8]) -> FromHeaderResult {
        let fromFields = fields(in: message).fields.filter { $0.name == "from" }
        guard let field = fromFields.first else { return .missing }
        guard fromFields.count == 1 else { return .multiple }
        guard let addresses = AddressListParser.parse(unfoldedValue(field, in: message)[...]),
              !addresses.isEmpty else { return .unparseable }
        return .addresses(addresses)
    }

    /// Index of the CR of the line's CRLF, or the end of the message.
    static func endOfLine(_ message: [UInt8], from start: Int) -> Int {
        var index = start
        while index < message.count {
            if message[index] == 13, index + 1 < message.count, message[index + 1] == 10 { return index }
            index += 1
        }
        return message.count
    }

    static func nextLineStart(_ message: [UInt8], lineEnd: Int) -> Int {
        min(message.count, lineEnd + 2)
    }
}

/// RFC 5322 address-list / mailbox-list: display names, angle addresses, groups, comments and
/// quoted strings; returns every addr-spec, or nil when a member cannot be read.
enum AddressListParser {
    enum Token: Equatable {
        case word([UInt8], quoted: Bool)
        case domainLiteral([UInt8])
        case special(UInt8)
    }

    static func parse(_ value: ArraySlice<UInt8>) -> [MailboxAddress]? {
        guard let tokens = tokenize(value) else { return nil }
        var addresses: [MailboxAddress] = []
        var member: [Token] = []
        var angleDepth = 0
        for token in tokens {
            switch token {
            case .special(UInt8(ascii: "<")): angleDepth += 1; member.append(token)
            case .special(UInt8(ascii: ">")): angleDepth -= 1; member.append(token)
            case .special(UInt8(ascii: ":")) where angleDepth == 0:
                member = []  // group display name
            case .special(UInt8(ascii: ",")) where angleDepth == 0,
                 .special(UInt8(ascii: ";")) where angleDepth == 0:
                if !member.isEmpty {
                    guard let address = mailbox(member) else { return nil }
                    addresses.append(address)
                }
                member = []
            case .word, .domainLiteral, .special:
                member.append(token)
            }
        }
        if !member.isEmpty {
            guard let address = mailbox(member) else { return nil }
            addresses.append(address)
        }
        return addresses
    }

    private static func mailbox(_ tokens: [Token]) -> MailboxAddress? {
        if let open = tokens.firstIndex(of: .special(UInt8(ascii: "<"))) {
            guard let close = tokens.lastIndex(of: .special(UInt8(ascii: ">"))), close > open,
                  close == tokens.count - 1 else { return nil }
            return addrSpec(Array(tokens[(open + 1)..<close]))
        }
        return addrSpec(tokens)
    }

    private static func addrSpec(_ tokens: [Token]) -> MailboxAddress? {
        guard let at = tokens.lastIndex(of: .special(UInt8(ascii: "@"))) else { return nil }
        guard let local = dotted(tokens[..<at], allowQuoted: true),
              let domain = dotted(tokens[(at + 1)...], allowQuoted: false) else { return nil }
        var cursor = ByteCursor(local[...])
        guard let localPart = PathParser.parseLocalPart(&cursor), cursor.isAtEnd,
              let domainText = String(validating: domain, as: UTF8.self) else { return nil }
        return MailboxAddress(localPart: localPart, domain: domainText)
    }

    /// word *("." word) rebuilt as bytes (quoted words keep their quotes and escapes).
    private static func dotted(_ tokens: ArraySlice<Token>, allowQuoted: Bool) -> [UInt8]? {
        var out: [UInt8] = []
        var expectWord = true
        for token in tokens {
            switch token {
            case .word(let bytes, let quoted):
                guard expectWord, allowQuoted || !quoted else { return nil }
                if quoted {
                    out.append(UInt8(ascii: "\""))
                    for byte in bytes {
                        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                        out.append(byte)
                    }
                    out.append(UInt8(ascii: "\""))
                } else {
                    out.append(contentsOf: bytes)
                }
                expectWord = false
            case .domainLiteral(let bytes):
                guard expectWord, !allowQuoted, tokens.count == 1 else { return nil }
                out.append(contentsOf: bytes)
                expectWord = false
            case .special(UInt8(ascii: ".")):
                guard !expectWord else { return nil }
                out.append(UInt8(ascii: "."))
                expectWord = true
            case .special:
                return nil
            }
        }
        return out.isEmpty || expectWord ? nil : out
    }

    static func tokenize(_ value: ArraySlice<UInt8>) -> [Token]? {
        var tokens: [Token] = []
        var index = value.startIndex
        while index < value.endIndex {
            let byte = value[index]
            switch byte {
            case 32, 9:
                index += 1
            case UInt8(ascii: "("):
                var depth = 0
                while index < value.endIndex {
                    let current = value[index]
                    if current == UInt8(ascii: "\\") { index += 2; continue }
                    if current == UInt8(ascii: "(") { depth += 1 }
                    if current == UInt8(ascii: ")") { depth -= 1 }
                    index += 1
                    if depth == 0 { break }
                }
                guard depth == 0 else { return nil }
            case UInt8(ascii: "\""):
                var content: [UInt8] = []
                index += 1
                var closed = false
                while index < value.endIndex {
                    let current = value[index]
                    if current == UInt8(ascii: "\\") {
                        guard index + 1 < value.endIndex else { return nil }
                        content.append(value[index + 1])
                        index += 2
                        continue
                    }
                    index += 1
                    if current == UInt8(ascii: "\"") { closed = true; break }
                    content.append(current)
                }
                guard closed else { return nil }
                tokens.append(.word(content, quoted: true))
            case UInt8(ascii: "["):
                guard let close = value[index...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
                tokens.append(.domainLiteral(Array(value[index...close])))
                index = close + 1
            case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"), UInt8(ascii: ","), UInt8(ascii: ";"),
                 UInt8(ascii: ":"), UInt8(ascii: "."):
                tokens.append(.special(byte))
                index += 1
            default:
                guard PathParser.isAtext(byte) else { return nil }
                var end = index
                while end < value.endIndex, PathParser.isAtext(value[end]) { end += 1 }
                tokens.append(.word(Array(value[index..<end]), quoted: false))
                index = end
            }
        }
        return tokens
    }
}
