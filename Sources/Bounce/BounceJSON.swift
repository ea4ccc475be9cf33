// The JSON lines of `mailgate bounce classify FILE...`: one object per
// recipient with keys in a fixed order (file, is_bounce, recipient, status,
// action, kind, reason, diagnostic); a file with nothing to report prints one
// line with is_bounce false and nulls. Strings are escaped by MailCore's JSONText.

import MailCore

public enum BounceJSON {
    public static func lines(file: String, report: BounceReport) -> [String] {
        guard !report.recipients.isEmpty else {
            return [object([("file", JSONText.string(file)), ("is_bounce", "false"), ("recipient", "null"), ("status", "null"),
                            ("action", "null"), ("kind", "null"), ("reason", "null"), ("diagnostic", "null")])]
        }
        return report.recipients.map { result in
            object([
                ("file", JSONText.string(file)),
                ("is_bounce", report.isBounce ? "true" : "false"),
                ("recipient", JSONText.string(result.recipient)),
                ("status", result.status.map(JSONText.string) ?? "null"),
                ("action", result.action.map { JSONText.string($0.rawValue) } ?? "null"),
                ("kind", result.kind.map { JSONText.string($0.rawValue) } ?? "null"),
                ("reason", JSONText.string(result.reason.rawValue)),
                ("diagnostic", result.diagnostic.map(JSONText.string) ?? "null"),
            ])
        }
    }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { JSONText.string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
