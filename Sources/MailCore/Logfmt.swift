// logfmt lines (key=value pairs separated by spaces), the format of every log
// line mailgate writes. Values with spaces, quotes, '=' or control characters
// are quoted and escaped as JSON strings, so one event is always exactly one line.

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
        // Quoted as a JSON string, so log readers decode values with the escapes they already know.
        return needsQuotes ? JSONText.string(value) : value
    }
}
