// Content-Transfer-Encoding decoders. Base64 skips every byte outside its
// alphabet and stops at padding; quoted-printable keeps malformed escapes
// as-is. Both report whether the input was clean so callers can log a defect.
// 7bit/8bit/binary and unknown encodings pass the bytes through unchanged.

public enum TransferEncoding {
    public static func decode(_ bytes: ArraySlice<UInt8>, encoding: String?) -> (bytes: [UInt8], clean: Bool) {
        switch (encoding ?? "").lowercased().trimmingCharacters(in: [" ", "\t", "\""]) {
        case "base64": return base64(bytes)
        case "quoted-printable": return quotedPrintable(bytes)
        default: return (Array(bytes), true)
        }
    }

    private static func base64Value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 65...90: return byte - 65
        case 97...122: return byte - 71
        case 48...57: return byte + 4
        case 43, 45: return 62  // '+' and URL-safe '-'
        case 47, 95: return 63  // '/' and URL-safe '_'
        default: return nil
        }
    }

    public static func base64<C: Collection>(_ bytes: C) -> (bytes: [UInt8], clean: Bool) where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var clean = true
        var sawPadding = false
        for byte in bytes {
            if byte == ASCII.equals { sawPadding = true; continue }
            guard let value = base64Value(byte) else {
                if !ASCII.isWhitespace(byte) { clean = false }
                continue
            }
            if sawPadding { clean = false; sawPadding = false; accumulator = 0; bits = 0 }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return (out, clean)
    }

    public static func quotedPrintable<C: Collection>(_ input: C) -> (bytes: [UInt8], clean: Bool) where C.Element == UInt8 {
        let bytes = Array(input)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var clean = true
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == ASCII.equals else {
                // Trailing whitespace before a line break is transport padding.
                if ASCII.isBlank(byte) {
                    var probe = index
                    while probe < bytes.count, ASCII.isBlank(bytes[probe]) { probe += 1 }
                    if probe == bytes.count || bytes[probe] == ASCII.cr || bytes[probe] == ASCII.lf {
                        index = probe
                        continue
                    }
                }
                out.append(byte)
                index += 1
                continue
            }
            // Soft line break: "=" followed by optional blanks and a line end.
            var probe = index + 1
            while probe < bytes.count, ASCII.isBlank(bytes[probe]) { probe += 1 }
            if probe == bytes.count { index = probe; continue }
            if bytes[probe] == ASCII.cr || bytes[probe] == ASCII.lf {
                index = probe + ((bytes[probe] == ASCII.cr && probe + 1 < bytes.count && bytes[probe + 1] == ASCII.lf) ? 2 : 1)
                continue
            }
            if index + 2 < bytes.count, let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
                continue
            }
            clean = false
            out.append(byte)
            index += 1
        }
        return (out, clean)
    }
}
