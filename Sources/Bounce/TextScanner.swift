// Finds the tokens a bounce is made of inside free text: e-mail addresses,
// RFC 3463 status codes (class 2/4/5, not part of an IP or version number)
// and SMTP reply codes. Works on UTF-8 bytes; results are lower-cased
// addresses and plain code strings. Heuristic by nature, never throws.

enum TextScanner {
    private static func isLocalByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122: return true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "="),
             UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "^"),
             UInt8(ascii: "`"), UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    private static func isDomainByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122, UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }

    /// Addresses in order of appearance, lower-cased, with their byte offsets.
    static func addresses(in text: String) -> [(address: String, offset: Int)] {
        let bytes = Array(text.utf8)
        var found: [(String, Int)] = []
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "@") else { index += 1; continue }
            var start = index
            while start > 0, isLocalByte(bytes[start - 1]) { start -= 1 }
            // Leading punctuation such as quotes or "=" from "to=" is not part of the address.
            while start < index, [UInt8(ascii: "."), UInt8(ascii: "'"), UInt8(ascii: "="), UInt8(ascii: "/"),
                                  UInt8(ascii: "|"), UInt8(ascii: "?")].contains(bytes[start]) { start += 1 }
            var end = index + 1
            while end < bytes.count, isDomainByte(bytes[end]) { end += 1 }
            var domainEnd = end
            while domainEnd > index + 1, [UInt8(ascii: "."), UInt8(ascii: "-")].contains(bytes[domainEnd - 1]) { domainEnd -= 1 }
            let domain = bytes[(index + 1)..<domainEnd]
            if start < index, domain.contains(UInt8(ascii: ".")), domain.count >= 3, index - start <= 128 {
                let address = String(decoding: bytes[start..<domainEnd], as: UTF8.self).lowercased()
                found.append((address, start))
            }
            index = max(end, index + 1)
        }
        return found
    }

    /// Every "d.ddd.ddd" status code with class 2, 4 or 5 standing alone.
    static func statusCodes(in text: String) -> [String] {
        let bytes = Array(text.utf8)
        var codes: [String] = []
        var index = 0
        func isDigit(_ i: Int) -> Bool { i >= 0 && i < bytes.count && bytes[i] >= 48 && bytes[i] <= 57 }
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "2") || byte == UInt8(ascii: "4") || byte == UInt8(ascii: "5"),
                  !isDigit(index - 1), index == 0 || bytes[index - 1] != UInt8(ascii: "."),
                  index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ".") else { index += 1; continue }
            var cursor = index + 2
            var subjectDigits = 0
            while isDigit(cursor), subjectDigits < 4 { cursor += 1; subjectDigits += 1 }
            guard subjectDigits >= 1, subjectDigits <= 3, cursor < bytes.count, bytes[cursor] == UInt8(ascii: ".") else {
                index += 1; continue
            }
            cursor += 1
            var detailDigits = 0
            while isDigit(cursor), detailDigits < 4 { cursor += 1; detailDigits += 1 }
            let followedByMore = cursor < bytes.count && bytes[cursor] == UInt8(ascii: ".") && isDigit(cursor + 1)
            if detailDigits >= 1, detailDigits <= 3, !followedByMore {
                codes.append(String(decoding: bytes[index..<cursor], as: UTF8.self))
            }
            index = cursor
        }
        return codes
    }

    /// The first SMTP reply code (4xx/5xx) standing as a word, e.g. "550" in "host said: 550 5.1.1 ...".
    static func replyCode(in text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3 else { return nil }
        func isDigit(_ i: Int) -> Bool { i >= 0 && i < bytes.count && bytes[i] >= 48 && bytes[i] <= 57 }
        for index in 0...(bytes.count - 3) {
            guard bytes[index] == UInt8(ascii: "4") || bytes[index] == UInt8(ascii: "5"),
                  isDigit(index + 1), isDigit(index + 2), !isDigit(index - 1), !isDigit(index + 3) else { continue }
            if index > 0, [UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "/"),
                           UInt8(ascii: "#"), UInt8(ascii: "=")].contains(bytes[index - 1]) { continue }
            if index + 3 < bytes.count, ![UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "\t"),
                                          UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[index + 3]) { continue }
            let code = Int(bytes[index] - 48) * 100 + Int(bytes[index + 1] - 48) * 10 + Int(bytes[index + 2] - 48)
            guard code % 100 <= 59 else { continue }
            return code
        }
        return nil
    }

    /// Whitespace runs collapsed to single spaces, ends trimmed.
    static func collapse(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }
}
