// The JSON lines of `mailgate bounce classify FILE...`: one object per
// recipient with keys in a fixed order (file, is_bounce, recipient, status,
// action, kind, reason, diagnostic); a file with nothing to report prints one
// line with is_bounce false and nulls. Hand-written encoder, RFC 8259 escaping.

public enum BounceJSON {
    public static func lines(file: String, report: BounceReport) -> [String] {
        guard !report.recipients.isEmpty else {
            return [object([("file", string(file)), ("is_bounce", "false"), ("recipient", "null"), ("status", "null"),
                            ("action", "null"), ("kind", "null"), ("reason", "null"), ("diagnostic", "null")])]
        }
        return report.recipients.map { result in
            object([
                ("file", string(file)),
                ("is_bounce", report.isBounce ? "true" : "false"),
                ("recipient", string(result.recipient)),
                ("status", result.status.map(string) ?? "null"),
                ("action", result.action.map { string($0.rawValue) } ?? "null"),
                ("kind", result.kind.map { string($0.rawValue) } ?? "null"),
                ("reason", string(result.reason.rawValue)),
                ("diagnostic", result.diagnostic.map(string) ?? "null"),
            ])
        }
    }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped; other text kept as UTF-8.
    public static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
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
