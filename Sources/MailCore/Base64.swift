// Strict base64 (RFC 4648 §4) for SASL exchanges (SMTP AUTH, IMAP AUTHENTICATE, upstream logins): decode refuses whitespace, bad padding and
// characters outside the alphabet; an empty input decodes to no bytes. Base64url (§5, unpadded) for
// tokens in URLs and addresses: same strictness, `-` and `_` instead of `+` and `/`, no `=`.
// Limits: input length is bounded by the caller's line limit.

public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < input.count {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(alphabet[Int(value >> 6 & 63)])
            out.append(alphabet[Int(value & 63)])
            index += 3
        }
        let remaining = input.count - index
        if remaining == 1 {
            let value = UInt32(input[index]) << 16
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")])
        } else if remaining == 2 {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(alphabet[Int(value >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
        return out
    }

    private static func value(of byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// nil when the input is not canonical padded base64.
    public static func decode(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(bytes)
        guard input.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let c0 = input[index], c1 = input[index + 1], c2 = input[index + 2], c3 = input[index + 3]
            guard let v0 = value(of: c0), let v1 = value(of: c1) else { return nil }
            if isLast && c2 == UInt8(ascii: "=") {
                guard c3 == UInt8(ascii: "="), v1 & 0x0F == 0 else { return nil }
                out.append(UInt8((v0 << 2 | v1 >> 4) & 0xFF))
            } else if isLast && c3 == UInt8(ascii: "=") {
                guard let v2 = value(of: c2), v2 & 0x03 == 0 else { return nil }
                out.append(UInt8((v0 << 2 | v1 >> 4) & 0xFF))
                out.append(UInt8((v1 << 4 | v2 >> 2) & 0xFF))
            } else {
                guard let v2 = value(of: c2), let v3 = value(of: c3) else { return nil }
                let value = v0 << 18 | v1 << 12 | v2 << 6 | v3
                out.append(UInt8(value >> 16 & 0xFF))
                out.append(UInt8(value >> 8 & 0xFF))
                out.append(UInt8(value & 0xFF))
            }
            index += 4
        }
        return out
    }

    /// RFC 4648 §5 base64url without padding.
    public static func encodeURL(_ bytes: some Collection<UInt8>) -> [UInt8] {
        encode(bytes).compactMap { byte in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }
    }

    /// nil unless the input is canonical unpadded base64url (no `=`, `+`, `/` or whitespace).
    public static func decodeURL(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        var standard: [UInt8] = []
        standard.reserveCapacity(bytes.count + 2)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            case UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="): return nil
            default: standard.append(byte)
            }
        }
        switch standard.count % 4 {
        case 1: return nil
        case 2: standard.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")])
        case 3: standard.append(UInt8(ascii: "="))
        default: break
        }
        return decode(standard)
    }
}
