// logfmt lines (key=value pairs separated by spaces), the format of every log
// line mailgate writes. Values with spaces, quotes, '=' or control characters
// are quoted and escaped so one event is always exactly one line.

public enum Logfmt {
    /// Renders the fields in the given order.
    public static func line(_ fields: [(key: String, value: String)]) -> String {
        var out = ""
        for (index, field) in fields.enumerated() {
            if index > 0 { out += " " }
            out += sanitizedKey(field.key)
            out += "="
            out += quotedIfNeeded(field.value)
        }
        return out
    }

    static func sanitizedKey(_ key: String) -> String {
        let cleaned = key.unicodeScalars.map { scalar -> String in
            scalar.value > 0x20 && scalar != "=" && scalar != "\"" && scalar.value != 0x7F ? String(scalar) : "_"
        }.joined()
        return cleaned.isEmpty ? "_" : cleaned
    }

    static func quotedIfNeeded(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains {
            $0.value <= 0x20 || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value == 0x7F
        }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
