// Text bound for PostgreSQL and JSON: NUL cannot be stored in text columns
// and other C0 controls only confuse readers, so they become spaces (tab,
// CR and LF kept only where asked); values are cut at a limit in characters.
// Also the JSON string escaper for the headers column (jsonb refuses \u0000).

public enum StoredText {
    public static func clean(_ text: String, limit: Int, keepLineBreaks: Bool = false) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else { break }
            count += 1
            let isBreak = scalar.value == 0x09 || scalar.value == 0x0A || scalar.value == 0x0D
            if (scalar.value < 0x20 || scalar.value == 0x7F) && !(keepLineBreaks && isBreak) {
                out.append(" ")
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A JSON string literal; NUL and other controls are escaped (\u0000 becomes U+FFFD for jsonb).
    public static func json(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}": out += "\\ufffd"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
