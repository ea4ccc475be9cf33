// Byte-level helpers shared by the MIME parsers: ASCII classes, case folding,
// trimming and line scanning over [UInt8] slices. Lines end at LF, CRLF or a
// lone CR; the terminator is excluded from a line's content range.
// Limits: ASCII only; anything non-ASCII is treated as an opaque byte.

enum ASCII {
    static let cr: UInt8 = 13, lf: UInt8 = 10, space: UInt8 = 32, tab: UInt8 = 9
    static let colon: UInt8 = 58, semicolon: UInt8 = 59, equals: UInt8 = 61, quote: UInt8 = 34
    static let backslash: UInt8 = 92, dash: UInt8 = 45, question: UInt8 = 63

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab || byte == cr || byte == lf }
    static func isBlank(_ byte: UInt8) -> Bool { byte == space || byte == tab }
    static func lower(_ byte: UInt8) -> UInt8 { (byte >= 65 && byte <= 90) ? byte + 32 : byte }
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 65...70: return byte - 55
        case 97...102: return byte - 87
        default: return nil
        }
    }
}

/// One line of a byte buffer: `content` excludes the terminator, `next` is where the following line starts.
struct ByteLine {
    let start: Int
    let contentEnd: Int
    let next: Int
    var isEmpty: Bool { start == contentEnd }
}

extension ArraySlice where Element == UInt8 {
    /// The line starting at `index`, or nil at the end of the slice.
    func line(at index: Int) -> ByteLine? {
        guard index < endIndex else { return nil }
        var cursor = index
        while cursor < endIndex {
            let byte = self[cursor]
            if byte == ASCII.lf { return ByteLine(start: index, contentEnd: cursor, next: cursor + 1) }
            if byte == ASCII.cr {
                let next = (cursor + 1 < endIndex && self[cursor + 1] == ASCII.lf) ? cursor + 2 : cursor + 1
                return ByteLine(start: index, contentEnd: cursor, next: next)
            }
            cursor += 1
        }
        return ByteLine(start: index, contentEnd: endIndex, next: endIndex)
    }

    func trimmedWhitespace() -> ArraySlice<UInt8> {
        var lower = startIndex, upper = endIndex
        while lower < upper, ASCII.isWhitespace(self[lower]) { lower += 1 }
        while upper > lower, ASCII.isWhitespace(self[upper - 1]) { upper -= 1 }
        return self[lower..<upper]
    }

    func hasPrefixCaseInsensitive(_ prefix: [UInt8]) -> Bool {
        guard count >= prefix.count else { return false }
        var index = startIndex
        for byte in prefix {
            if ASCII.lower(self[index]) != ASCII.lower(byte) { return false }
            index += 1
        }
        return true
    }
}

enum Text {
    /// Bytes as a String: UTF-8 when valid, otherwise ISO-8859-1 so no byte is lost.
    static func string<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    static func isValidUTF8<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        String(validating: bytes, as: UTF8.self) != nil
    }
}
