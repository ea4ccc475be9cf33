// Text bound for PostgreSQL and JSON: NUL cannot be stored in text columns
// and other C0 controls only confuse readers, so they become spaces (tab,
// CR and LF kept only where asked); values are cut at a limit in characters.
// Cleaned text never holds NUL, which jsonb refuses; JSON escaping is MailCore's JSONText.

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
}
