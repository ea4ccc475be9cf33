// A minimal, bounded JSON reader for small answers from HTTP services (an
// OAuth2 token endpoint): the top-level value must be an object; its members
// with string, number, true/false/null values are returned, nested objects and
// arrays are checked and skipped. Strict RFC 8259 syntax, nesting at most 32,
// duplicate names refused; no floats are interpreted (numbers stay text).

public enum JSONScalar: Sendable, Equatable {
    case string(String)
    /// The number as written ("3600", "1.5e3").
    case number(String)
    case bool(Bool)
    case null
    /// An object or array (skipped, not kept).
    case nested
}

public enum JSONObjectReader {
    public static let maxDepth = 32

    /// The top-level object's members, or nil when `bytes` is not exactly one JSON object.
    public static func members(_ bytes: [UInt8]) -> [String: JSONScalar]? {
        var cursor = Cursor(bytes: bytes)
        cursor.skipSpace()
        guard cursor.peek == UInt8(ascii: "{") else { return nil }
        var members: [String: JSONScalar] = [:]
        guard cursor.object(depth: 1, into: &members) else { return nil }
        cursor.skipSpace()
        return cursor.atEnd ? members : nil
    }

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            skipSpace()
            guard peek == byte else { return false }
            index += 1
            return true
        }

        /// At "{": reads the object; `into` receives its members when it is the top level.
        mutating func object(depth: Int, into members: inout [String: JSONScalar]) -> Bool {
            guard depth <= JSONObjectReader.maxDepth, expect(UInt8(ascii: "{")) else { return false }
            skipSpace()
            if peek == UInt8(ascii: "}") {
                index += 1
                return true
            }
            while true {
                skipSpace()
                guard let name = string(), expect(UInt8(ascii: ":")), let value = value(depth: depth) else { return false }
                if depth == 1 {
                    guard members[name] == nil else { return false }
                    members[name] = value
                }
                skipSpace()
                guard let next = peek else { return false }
                index += 1
                if next == UInt8(ascii: "}") { return true }
                guard next == UInt8(ascii: ",") else { return false }
            }
        }

        mutating func array(depth: Int) -> Bool {
            guard depth <= JSONObjectReader.maxDepth, expect(UInt8(ascii: "[")) else { return false }
            skipSpace()
            if peek == UInt8(ascii: "]") {
                index += 1
                return true
            }
            while true {
                guard value(depth: depth) != nil else { return false }
                skipSpace()
                guard let next = peek else { return false }
                index += 1
                if next == UInt8(ascii: "]") { return true }
                guard next == UInt8(ascii: ",") else { return false }
            }
        }

        mutating func value(depth: Int) -> JSONScalar? {
            skipSpace()
            guard let first = peek else { return nil }
            switch first {
            case UInt8(ascii: "\""):
                return string().map { .string($0) }
            case UInt8(ascii: "{"):
                var ignored: [String: JSONScalar] = [:]
                return object(depth: depth + 1, into: &ignored) ? .nested : nil
            case UInt8(ascii: "["):
                return array(depth: depth + 1) ? .nested : nil
            case UInt8(ascii: "t"):
                return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"):
                return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"):
                return literal("null") ? .null : nil
            default:
                return number().map { .number($0) }
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let expected = word.withUTF8Buffer { Array($0) }
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected
            else { return false }
            index += expected.count
            return true
        }

        /// RFC 8259 §6: -? int frac? exp?
        mutating func number() -> String? {
            let start = index
            if peek == UInt8(ascii: "-") { index += 1 }
            guard let lead = peek, isDigit(lead) else { return nil }
            index += 1
            if lead != UInt8(ascii: "0") { while let byte = peek, isDigit(byte) { index += 1 } }
            if peek == UInt8(ascii: ".") {
                index += 1
                guard digits() else { return nil }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard digits() else { return nil }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        private mutating func digits() -> Bool {
            let start = index
            while let byte = peek, isDigit(byte) { index += 1 }
            return index > start
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        /// At a quote: the decoded string (escapes, surrogate pairs); nil on bad syntax or bad UTF-8.
        mutating func string() -> String? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            index += 1
            var out: [UInt8] = []
            while let byte = peek {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { return nil }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard let scalar = unicodeEscape() else { return nil }
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default:
                        return nil
                    }
                default:
                    guard byte >= 0x20 else { return nil }
                    out.append(byte)
                }
            }
            return nil
        }

        /// After "\u": four hex digits, and a low surrogate escape after a high one.
        private mutating func unicodeEscape() -> Unicode.Scalar? {
            guard let high = hex4() else { return nil }
            if (0xD800...0xDBFF).contains(high) {
                guard literal("\\u"), let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            return Unicode.Scalar(high)
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }
    }
}
