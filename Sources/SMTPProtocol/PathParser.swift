// Envelope addresses: the RFC 5321 §4.1.2 Path grammar (with RFC 6531 UTF-8 when allowed), parsed
// from bytes. Angle brackets are required; a source route (<@a,@b:x@y>) is accepted and dropped.
// Limits: path <= 256 octets with brackets, local part <= 64, domain <= 255 (RFC 5321 §4.5.3.1).
// A quoted local part whose content is a plain dot-string is stored unquoted (canonical form).

import MailCore

enum PathError: Error, Equatable {
    case syntax
    case tooLong
    case nonASCIIWithoutSMTPUTF8
}

enum PathParser {
    static let maxPathLength = 256
    static let maxLocalPartLength = 64
    static let maxDomainLength = 255

    /// Parses a Path at the start of `bytes`. Returns nil for the null path `<>` (when
    /// `allowNull`), and the index just after `>`.
    static func parsePath(_ bytes: ArraySlice<UInt8>, allowNull: Bool, utf8Allowed: Bool)
        -> Result<(address: MailboxAddress?, end: Int), PathError>
    {
        var cursor = ByteCursor(bytes)
        guard cursor.take(UInt8(ascii: "<")) else { return .failure(.syntax) }
        let pathStart = cursor.index - 1
        if cursor.take(UInt8(ascii: ">")) {
            return allowNull ? .success((nil, cursor.index)) : .failure(.syntax)
        }
        if cursor.peek == UInt8(ascii: "@") {
            // Source route: skip "@domain,@domain:" (RFC 5321 §4.1.2: accept and ignore).
            while cursor.take(UInt8(ascii: "@")) {
                guard parseDomain(&cursor, utf8Allowed: true) != nil else { return .failure(.syntax) }
                if cursor.take(UInt8(ascii: ",")) { continue }
                guard cursor.take(UInt8(ascii: ":")) else { return .failure(.syntax) }
                break
            }
        }
        let localStart = cursor.index
        let localPart: String
        switch parseLocalPart(&cursor) {
        case .none: return .failure(.syntax)
        case .some(let parsed): localPart = parsed
        }
        let localLength = cursor.index - localStart
        guard cursor.take(UInt8(ascii: "@")) else { return .failure(.syntax) }
        let domainStart = cursor.index
        guard let domain = parseDomain(&cursor, utf8Allowed: true) else { return .failure(.syntax) }
        let domainLength = cursor.index - domainStart
        guard cursor.take(UInt8(ascii: ">")) else { return .failure(.syntax) }
        if cursor.index - pathStart > maxPathLength || localLength > maxLocalPartLength
            || domainLength > maxDomainLength {
            return .failure(.tooLong)
        }
        let address = MailboxAddress(localPart: localPart, domain: domain)
        if !utf8Allowed && !address.isASCII { return .failure(.nonASCIIWithoutSMTPUTF8) }
        return .success((address, cursor.index))
    }

    /// Dot-string or quoted string; returns the canonical text, nil on a syntax error or bad UTF-8.
    static func parseLocalPart(_ cursor: inout ByteCursor) -> String? {
        if cursor.peek == UInt8(ascii: "\"") {
            let start = cursor.index
            cursor.advance()
            var content: [UInt8] = []
            while let byte = cursor.peek {
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\") {
                    cursor.advance()
                    guard let escaped = cursor.peek, escaped >= 32, escaped <= 126 else { return nil }
                    content.append(escaped)
                    cursor.advance()
                    continue
                }
                guard byte == 32 || byte == 33 || (byte >= 35 && byte <= 91) || (byte >= 93 && byte <= 126)
                        || byte >= 0x80 else { return nil }
                content.append(byte)
                cursor.advance()
            }
            guard cursor.take(UInt8(ascii: "\"")) else { return nil }
            if isDotString(content[...]) { return String(validating: content, as: UTF8.self) }
            return String(validating: cursor.bytes[start..<cursor.index], as: UTF8.self)
        }
        let start = cursor.index
        while let byte = cursor.peek, isAtext(byte) || byte == UInt8(ascii: ".") { cursor.advance() }
        let raw = cursor.bytes[start..<cursor.index]
        guard isDotString(raw) else { return nil }
        return String(validating: raw, as: UTF8.self)
    }

    /// Domain (sub-domains of letters, digits, hyphens, or UTF-8 U-labels) or an address literal.
    static func parseDomain(_ cursor: inout ByteCursor, utf8Allowed: Bool) -> String? {
        let start = cursor.index
        if cursor.take(UInt8(ascii: "[")) {
            while let byte = cursor.peek, (byte >= 33 && byte <= 90) || (byte >= 94 && byte <= 126) {
                cursor.advance()
            }
            guard cursor.index > start + 1, cursor.take(UInt8(ascii: "]")) else { return nil }
            return String(validating: cursor.bytes[start..<cursor.index], as: UTF8.self)
        }
        var labelLength = 0
        var previous: UInt8 = UInt8(ascii: ".")
        while let byte = cursor.peek {
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0, previous != UInt8(ascii: "-") else { return nil }
                labelLength = 0
            } else if isLetDig(byte) || (utf8Allowed && byte >= 0x80) {
                labelLength += 1
            } else if byte == UInt8(ascii: "-") {
                guard labelLength > 0 else { return nil }
                labelLength += 1
            } else {
                break
            }
            previous = byte
            cursor.advance()
        }
        guard labelLength > 0, previous != UInt8(ascii: "-") else { return nil }
        return String(validating: cursor.bytes[start..<cursor.index], as: UTF8.self)
    }

    static func isDotString(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first, let last = bytes.last,
              first != UInt8(ascii: "."), last != UInt8(ascii: ".") else { return false }
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if previous == UInt8(ascii: ".") { return false }
            } else if !isAtext(byte) {
                return false
            }
            previous = byte
        }
        return true
    }

    /// RFC 5322 atext plus RFC 6531 UTF8-non-ascii (checked for validity when made a String).
    static func isAtext(_ byte: UInt8) -> Bool {
        if isLetDig(byte) || byte >= 0x80 { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
             UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
             UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func isLetDig(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}

/// A read position over a byte slice; never traps on short input.
struct ByteCursor {
    let bytes: ArraySlice<UInt8>
    var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var peek: UInt8? { index < bytes.endIndex ? bytes[index] : nil }
    var isAtEnd: Bool { index >= bytes.endIndex }
    var rest: ArraySlice<UInt8> { bytes[index...] }

    mutating func advance() { if index < bytes.endIndex { index += 1 } }

    mutating func take(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    mutating func skipBlanks() {
        while let byte = peek, byte == 32 || byte == 9 { index += 1 }
    }
}
