// Byte-level encoders for composing DSNs: value cleaning (controls become
// spaces, so no input can start a header line), RFC 3461 xtext, RFC 6533
// utf-8-addr-xtext/unitext, header folding (78 octets where spaces allow,
// never above 998), line wrapping for text, RFC 5322 dates from Unix seconds,
// base64 lines and a multipart boundary that no content line can start with.
import MailCore

enum DSNEncoding {
    static let crlf: [UInt8] = [13, 10]
    static let space: UInt8 = 32
    /// RFC 5322 2.1.1: a line is at most 998 octets before its CRLF.
    static let hardLineLimit = 998
    static let softLineLimit = 78
    /// Reply text beyond this many octets is cut: enough for any real multi-line SMTP reply.
    static let diagnosticLimit = 4_096

    // MARK: Cleaning

    /// Whitespace and every control character (C0, DEL, C1, Unicode line separators) become one space,
    /// runs collapse, ends are trimmed. Non-ASCII is kept as UTF-8 when `utf8`, else each scalar is "?".
    /// Stops before `limit` bytes, on a scalar boundary.
    static func clean(_ text: String, utf8: Bool, limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value <= 0x20 || value == 0x7F || (0x80...0xA0).contains(value) || value == 0x2028 || value == 0x2029 {
                pendingSpace = !out.isEmpty
                continue
            }
            let encoded: [UInt8] = value < 0x80 ? [UInt8(value)] : (utf8 ? Array(String(scalar).utf8) : [UInt8(ascii: "?")])
            let needed = encoded.count + (pendingSpace ? 1 : 0)
            guard out.count + needed <= limit else { break }
            if pendingSpace { out.append(space) }
            pendingSpace = false
            out += encoded
        }
        return out
    }

    static func isASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 < 0x80 } }

    // MARK: xtext (RFC 3461 section 4) and the RFC 6533 forms

    /// Printable ASCII except "+" and "=" as is; every other octet as "+XX".
    static func xtext(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            if byte >= 0x21, byte <= 0x7E, byte != UInt8(ascii: "+"), byte != UInt8(ascii: "=") {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "+"))
                out += hex(UInt32(byte), minimumDigits: 2)
            }
        }
        return out
    }

    /// utf-8-addr-unitext (`keepUTF8`, for message/global-delivery-status) or utf-8-addr-xtext (7-bit):
    /// QCHARs as is, "\", "+", "=", space and controls as \x{HEX}, non-ASCII raw or as \x{HEX}.
    static func utf8AddressText(_ text: String, keepUTF8: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let isQChar = value >= 0x21 && value <= 0x7E && value != 0x2B && value != 0x3D && value != 0x5C
            if isQChar {
                out.append(UInt8(value))
            } else if value >= 0x80, keepUTF8 {
                out += Array(String(scalar).utf8)
            } else {
                out += Array("\\x{".utf8) + hex(value, minimumDigits: 2) + [UInt8(ascii: "}")]
            }
        }
        return out
    }

    static func hex(_ value: UInt32, minimumDigits: Int) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        var rest = value
        repeat {
            out.append(digits[Int(rest & 15)])
            rest >>= 4
        } while rest > 0
        while out.count < minimumDigits { out.append(UInt8(ascii: "0")) }
        return out.reversed()
    }

    // MARK: Folding and wrapping

    /// Words (split at spaces) laid out on lines: the first starts with `firstPrefix`, later ones with
    /// `nextPrefix`; a new line starts when the next word would pass `softLimit`; a word too long for
    /// a line of its own is cut (on a UTF-8 scalar boundary) so no line passes `hardLineLimit`.
    /// Every line ends in CRLF.
    static func lay(_ value: [UInt8], firstPrefix: [UInt8], nextPrefix: [UInt8], softLimit: Int) -> [UInt8] {
        var out = firstPrefix
        var lineLength = firstPrefix.count
        var lineHasWord = false
        func newLine() {
            out += crlf
            out += nextPrefix
            lineLength = nextPrefix.count
            lineHasWord = false
        }
        for word in value.split(separator: space) {
            var piece = word[...]
            while !piece.isEmpty {
                if lineHasWord {
                    if lineLength + 1 + piece.count <= softLimit {
                        out.append(space)
                        lineLength += 1
                    } else {
                        newLine()
                    }
                }
                var take = min(hardLineLimit - lineLength, piece.count)
                if take < piece.count {
                    while take > 0, piece[piece.startIndex + take] & 0xC0 == 0x80 { take -= 1 }
                }
                out += piece.prefix(take)
                lineLength += take
                lineHasWord = true
                piece = piece.dropFirst(take)
                if !piece.isEmpty { newLine() }
            }
        }
        out += crlf
        return out
    }

    /// A header field, folded with a leading space on continuation lines (RFC 5322 2.2.3).
    static func field(_ name: String, _ value: [UInt8]) -> [UInt8] {
        lay(value, firstPrefix: Array((name + ": ").utf8), nextPrefix: [space], softLimit: softLineLimit)
    }

    static func field(_ name: String, _ value: String) -> [UInt8] { field(name, Array(value.utf8)) }

    /// Text wrapped at 76 octets with every line indented by `indent` spaces.
    static func paragraph(_ value: [UInt8], indent: Int = 0) -> [UInt8] {
        let prefix = [UInt8](repeating: space, count: indent)
        return lay(value, firstPrefix: prefix, nextPrefix: prefix, softLimit: 76)
    }

    static func paragraph(_ value: String, indent: Int = 0) -> [UInt8] { paragraph(Array(value.utf8), indent: indent) }

    // MARK: Dates

    /// RFC 5322 date-time in UTC, e.g. "Thu, 01 Jan 1970 00:00:00 +0000". Clamped to years 1970-9999.
    static func date(_ unixSeconds: Int64) -> String { CivilCalendar.fixedDate(unixSeconds: unixSeconds, zone: "+0000") }

    // MARK: Base64

    /// Base64 in lines of 76 characters, each ending in CRLF.
    static func base64Lines(_ bytes: [UInt8]) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var lineLength = 0
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            let first = UInt32(bytes[index])
            let second = count > 1 ? UInt32(bytes[index + 1]) : 0
            let third = count > 2 ? UInt32(bytes[index + 2]) : 0
            let group = first << 16 | second << 8 | third
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(count > 1 ? alphabet[Int(group >> 6 & 63)] : UInt8(ascii: "="))
            out.append(count > 2 ? alphabet[Int(group & 63)] : UInt8(ascii: "="))
            index += 3
            lineLength += 4
            if lineLength == 76 {
                out += crlf
                lineLength = 0
            }
        }
        if lineLength > 0 { out += crlf }
        return out
    }

    // MARK: Boundary

    static let boundaryPrefix = Array("=_mailgate-dsn-".utf8)

    /// A boundary no line of `contents` starts with (as "--" + boundary). Candidates differ from one
    /// another, so at most (number of "--" lines + 1) are tried. Deterministic for the same inputs.
    static func boundary(seed: [UInt8], avoiding contents: [[UInt8]]) -> String {
        let length = 2 + boundaryPrefix.count + 16
        var taken = Set<ArraySlice<UInt8>>()
        for content in contents {
            var lineStart = 0
            while lineStart < content.count {
                var lineEnd = lineStart
                while lineEnd < content.count, content[lineEnd] != 10, content[lineEnd] != 13 { lineEnd += 1 }
                if lineEnd - lineStart >= length, content[lineStart] == UInt8(ascii: "-"),
                   content[lineStart + 1] == UInt8(ascii: "-") {
                    taken.insert(content[lineStart..<(lineStart + length)])
                }
                lineStart = lineEnd + 1
            }
        }
        // FNV-1a over the seed gives the base; XOR with a counter keeps every candidate distinct.
        var base: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in seed {
            base ^= UInt64(byte)
            base = base &* 0x0000_0100_0000_01B3
        }
        var counter: UInt64 = 0
        while true {
            let value = base ^ counter
            let candidate = boundaryPrefix + hex(UInt32(truncatingIfNeeded: value >> 32), minimumDigits: 8)
                + hex(UInt32(truncatingIfNeeded: value), minimumDigits: 8)
            if !taken.contains(([UInt8(ascii: "-"), UInt8(ascii: "-")] + candidate)[...]) {
                return String(decoding: candidate, as: UTF8.self)
            }
            counter &+= 1
        }
    }
}
