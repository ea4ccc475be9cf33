// RFC 2047 encoded words (=?charset?B|Q?text?=) in unstructured header text
// and phrases. Whitespace between adjacent encoded words is dropped; adjacent
// words in the same charset are joined before conversion so multibyte
// characters split across words survive. Malformed words stay literal.

public enum EncodedWords {
    public static func decode<C: Collection>(_ input: C) -> String where C.Element == UInt8 {
        let bytes = Array(input)
        var result = ""
        var literal: [UInt8] = []          // pending plain bytes
        var pendingCharset: String?        // charset of pending decoded bytes
        var pendingDecoded: [UInt8] = []
        var index = 0

        func flushDecoded() {
            if let charset = pendingCharset { result += Charset.decode(pendingDecoded, charset: charset) }
            pendingCharset = nil
            pendingDecoded = []
        }
        func flushLiteral() {
            if !literal.isEmpty { result += Text.string(literal) }
            literal = []
        }

        while index < bytes.count {
            if bytes[index] == ASCII.equals, index + 1 < bytes.count, bytes[index + 1] == ASCII.question,
               let word = parseWord(bytes, from: index) {
                // Whitespace only between two encoded words is dropped.
                if pendingCharset != nil, literal.allSatisfy(ASCII.isWhitespace) {
                    literal = []
                } else {
                    flushDecoded()
                    flushLiteral()
                }
                if pendingCharset != nil, pendingCharset != word.charset { flushDecoded() }
                pendingCharset = word.charset
                pendingDecoded += word.decoded
                index = word.end
                continue
            }
            if pendingCharset != nil, !ASCII.isWhitespace(bytes[index]) {
                flushDecoded()
            }
            literal.append(bytes[index])
            index += 1
        }
        flushDecoded()
        flushLiteral()
        return result
    }

    struct Word {
        let charset: String
        let decoded: [UInt8]
        let end: Int
    }

    static func parseWord(_ bytes: [UInt8], from start: Int) -> Word? {
        var index = start + 2
        let charsetStart = index
        while index < bytes.count, bytes[index] != ASCII.question {
            if ASCII.isWhitespace(bytes[index]) { return nil }
            index += 1
        }
        guard index + 2 < bytes.count, index > charsetStart, bytes[index + 2] == ASCII.question else { return nil }
        let charset = Charset.normalise(Text.string(bytes[charsetStart..<index]))
        let encoding = ASCII.lower(bytes[index + 1])
        let textStart = index + 3
        var end = textStart
        while end + 1 < bytes.count, !(bytes[end] == ASCII.question && bytes[end + 1] == ASCII.equals) {
            if bytes[end] == ASCII.cr || bytes[end] == ASCII.lf { return nil }
            end += 1
        }
        guard end + 1 < bytes.count else { return nil }
        let text = bytes[textStart..<end]
        let decoded: [UInt8]
        switch encoding {
        case UInt8(ascii: "b"): decoded = TransferEncoding.base64(text).bytes
        case UInt8(ascii: "q"): decoded = qDecode(text)
        default: return nil
        }
        return Word(charset: charset, decoded: decoded, end: end + 2)
    }

    private static func qDecode(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "_") { out.append(ASCII.space); index += 1; continue }
            if byte == ASCII.equals, index + 2 < text.endIndex,
               let high = ASCII.hexValue(text[index + 1]), let low = ASCII.hexValue(text[index + 2]) {
                out.append(high << 4 | low)
                index += 3
                continue
            }
            out.append(byte)
            index += 1
        }
        return out
    }
}
