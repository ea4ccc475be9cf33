// The third part of a composed DSN: the original message (RET=FULL, failures
// only) or its header block. Line ends become CRLF and NUL a space first, so
// no bare CR/LF reaches the wire. Full return falls back to the header when a
// line passes 998 octets or 8-bit headers would need message/global in a
// 7-bit report; a header that cannot go as is goes base64 as text/rfc822-headers.
import MIME

struct ReturnedPart {
    /// MIME header lines of the part, each ending in CRLF.
    var mimeHeaders: [UInt8]
    /// The part body, ending in CRLF.
    var body: [UInt8]
    /// Whether the body holds octets above 127 unencoded.
    var eightBit: Bool
}

enum DSNReturnedContent {
    /// Lone CR, lone LF and CRLF all become CRLF; NUL becomes a space.
    static func normalized(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 32)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 13:
                out += DSNEncoding.crlf
                if index + 1 < bytes.count, bytes[index + 1] == 10 { index += 1 }
            case 10:
                out += DSNEncoding.crlf
            case 0:
                out.append(DSNEncoding.space)
            default:
                out.append(byte)
            }
            index += 1
        }
        return out
    }

    /// The header lines of CRLF-normalised bytes, up to the blank line; all of it when there is none.
    static func headerBlock(_ normalized: [UInt8]) -> [UInt8] {
        if normalized.starts(with: DSNEncoding.crlf) { return [] }
        var index = 0
        while index + 3 < normalized.count {
            if normalized[index] == 13, normalized[index + 1] == 10, normalized[index + 2] == 13, normalized[index + 3] == 10 {
                return Array(normalized[..<(index + 2)])
            }
            index += 1
        }
        return endingInCRLF(normalized)
    }

    static func endingInCRLF(_ bytes: [UInt8]) -> [UInt8] {
        bytes.isEmpty || bytes.last == 10 ? bytes : bytes + DSNEncoding.crlf
    }

    static func longestLine(_ normalized: [UInt8]) -> Int {
        var longest = 0
        var current = 0
        for byte in normalized {
            if byte == 13 || byte == 10 {
                longest = max(longest, current)
                current = 0
            } else {
                current += 1
            }
        }
        return max(longest, current)
    }

    /// The part to return, or nil when there is no original to return.
    static func part(original: [UInt8], full: Bool, global: Bool, failed: Bool) -> ReturnedPart? {
        let message = normalized(original)
        guard !message.isEmpty else { return nil }
        let header = headerBlock(message)
        let headerIsEightBit = header.contains { $0 >= 0x80 }
        if full, longestLine(message) <= DSNEncoding.hardLineLimit, global || !headerIsEightBit {
            let body = endingInCRLF(message)
            let eightBit = body.contains { $0 >= 0x80 }
            let type = headerIsEightBit ? "message/global" : "message/rfc822"
            let mimeHeaders = DSNEncoding.field("Content-Type", type)
                + DSNEncoding.field("Content-Description", failed ? "Undelivered Message" : "Message")
                + DSNEncoding.field("Content-Transfer-Encoding", eightBit ? "8bit" : "7bit")
            return ReturnedPart(mimeHeaders: mimeHeaders, body: body, eightBit: eightBit)
        }
        guard !header.isEmpty else { return nil }
        let asIs = longestLine(header) <= DSNEncoding.hardLineLimit && (global || !headerIsEightBit)
        let type: String
        switch (headerIsEightBit, global) {
        case (true, true): type = "message/global-headers"
        case (true, false): type = "text/rfc822-headers; charset=utf-8"
        case (false, _): type = "text/rfc822-headers"
        }
        let encoding = asIs ? (headerIsEightBit ? "8bit" : "7bit") : "base64"
        let mimeHeaders = DSNEncoding.field("Content-Type", type)
            + DSNEncoding.field("Content-Description", failed ? "Undelivered Message Headers" : "Message Headers")
            + DSNEncoding.field("Content-Transfer-Encoding", encoding)
        let body = asIs ? header : DSNEncoding.base64Lines(header)
        return ReturnedPart(mimeHeaders: mimeHeaders, body: body, eightBit: asIs && headerIsEightBit)
    }

    /// The original's Message-ID as "<id>", when it has one that is safe to repeat in a header.
    static func messageID(original: [UInt8], allowUTF8: Bool) -> String? {
        let header = headerBlock(normalized(Array(original.prefix(1 << 20))))
        guard let raw = MIMEParser.parse(header + DSNEncoding.crlf).headers["Message-ID"],
              allowUTF8 || DSNEncoding.isASCII(raw) else { return nil }
        var value = DSNEncoding.clean(raw, utf8: true, limit: 900)
        if value.first == UInt8(ascii: "<"), value.last == UInt8(ascii: ">"), value.count >= 2 {
            value = Array(value.dropFirst().dropLast())
        }
        return messageIDBody(value).map { "<\($0)>" }
    }

    /// "left@right" with no whitespace or brackets; nil otherwise.
    static func messageIDBody(_ value: [UInt8]) -> String? {
        let forbidden: Set<UInt8> = [DSNEncoding.space, UInt8(ascii: "<"), UInt8(ascii: ">")]
        guard !value.isEmpty, !value.contains(where: forbidden.contains),
              value.contains(UInt8(ascii: "@")), value.first != UInt8(ascii: "@"), value.last != UInt8(ascii: "@")
        else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
