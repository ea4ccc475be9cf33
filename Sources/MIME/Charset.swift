// Converts text in a named charset to a Swift String (UTF-8). UTF-8, ASCII,
// ISO-8859-1, -15 and windows-1252 are decoded here; ISO-2022-JP, Shift_JIS,
// ISO-8859-2 and windows-125x go through Foundation (checked on Linux); EUC-JP
// is re-encoded to ISO-2022-JP first because Linux Foundation lacks it.
// Unknown charsets fall back to UTF-8, then ISO-8859-1: bytes are never dropped.
import Foundation

public enum Charset {
    /// Decodes `bytes`; `nil` charset means "unspecified" (UTF-8 with Latin-1 fallback).
    public static func decode<C: Collection>(_ bytes: C, charset: String?) -> String where C.Element == UInt8 {
        decodeReportingSuccess(bytes, charset: charset).text
    }

    /// The text plus whether the charset was known and the bytes were valid in it.
    static func decodeReportingSuccess<C: Collection>(_ bytes: C, charset: String?) -> (text: String, ok: Bool)
    where C.Element == UInt8 {
        let name = normalise(charset ?? "utf-8")
        switch name {
        case "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "unicode-1-1-utf-8":
            return (Text.string(bytes), Text.isValidUTF8(bytes))
        case "iso-8859-1", "latin1", "iso8859-1", "l1", "iso_8859-1":
            return (latin1(bytes), true)
        case "iso-8859-15", "latin-9", "iso8859-15":
            return (String(String.UnicodeScalarView(bytes.map { latin9Scalar($0) })), true)
        case "windows-1252", "cp1252":
            return (String(String.UnicodeScalarView(bytes.map { cp1252Scalar($0) })), true)
        case "euc-jp", "x-euc-jp", "eucjp":
            return foundation(eucJPToISO2022JP(Array(bytes)), .iso2022JP, bytes)
        default:
            if let encoding = foundationEncoding(name) { return foundation(Array(bytes), encoding, bytes) }
            return (Text.string(bytes), false)
        }
    }

    static func normalise(_ name: String) -> String {
        var lowered = name.lowercased().trimmingCharacters(in: .whitespaces)
        if lowered.hasPrefix("\""), lowered.hasSuffix("\""), lowered.count >= 2 {
            lowered = String(lowered.dropFirst().dropLast())
        }
        if let star = lowered.firstIndex(of: "*") { lowered = String(lowered[..<star]) } // RFC 2231 language
        return lowered
    }

    private static func foundationEncoding(_ name: String) -> String.Encoding? {
        switch name {
        case "iso-2022-jp", "csiso2022jp": return .iso2022JP
        case "shift_jis", "shift-jis", "sjis", "x-sjis", "cp932", "windows-31j", "ms_kanji": return .shiftJIS
        case "iso-8859-2", "latin2", "iso8859-2": return .isoLatin2
        case "windows-1250", "cp1250": return .windowsCP1250
        case "windows-1251", "cp1251": return .windowsCP1251
        case "windows-1253", "cp1253": return .windowsCP1253
        case "windows-1254", "cp1254": return .windowsCP1254
        case "utf-16": return .utf16
        case "utf-16be": return .utf16BigEndian
        case "utf-16le": return .utf16LittleEndian
        default: return nil
        }
    }

    private static func foundation<C: Collection>(_ converted: [UInt8], _ encoding: String.Encoding, _ original: C)
    -> (text: String, ok: Bool) where C.Element == UInt8 {
        if let text = String(data: Data(converted), encoding: encoding) { return (text, true) }
        return (Text.string(original), false)
    }

    private static func latin1<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    private static func latin9Scalar(_ byte: UInt8) -> Unicode.Scalar {
        let replaced: UInt32? = switch byte {
        case 0xA4: 0x20AC
        case 0xA6: 0x0160
        case 0xA8: 0x0161
        case 0xB4: 0x017D
        case 0xB8: 0x017E
        case 0xBC: 0x0152
        case 0xBD: 0x0153
        case 0xBE: 0x0178
        default: nil
        }
        return replaced.flatMap(Unicode.Scalar.init) ?? Unicode.Scalar(byte)
    }

    private static let cp1252High: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    private static func cp1252Scalar(_ byte: UInt8) -> Unicode.Scalar {
        guard byte >= 0x80, byte < 0xA0 else { return Unicode.Scalar(byte) }
        return Unicode.Scalar(cp1252High[Int(byte - 0x80)]) ?? Unicode.Scalar(byte)
    }

    /// EUC-JP (JIS X 0208 pairs) to ISO-2022-JP; half-width kana and JIS X 0212 become "?".
    static func eucJPToISO2022JP(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var inKanji = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0xA1, byte <= 0xFE, index + 1 < bytes.count, bytes[index + 1] >= 0xA1 {
                if !inKanji { out += [0x1B, 0x24, 0x42]; inKanji = true }
                out += [byte & 0x7F, bytes[index + 1] & 0x7F]
                index += 2
                continue
            }
            if inKanji { out += [0x1B, 0x28, 0x42]; inKanji = false }
            if byte == 0x8E { out.append(ASCII.question); index += 2; continue }
            if byte == 0x8F { out.append(ASCII.question); index += 3; continue }
            out.append(byte < 0x80 ? byte : ASCII.question)
            index += 1
        }
        if inKanji { out += [0x1B, 0x28, 0x42] }
        return out
    }
}
