// Shared pieces of the admin commands' output: JSON lines (a value type and a
// writer with keys in the order given; strings escaped by MailCore's JSONText),
// instants read from PostgreSQL as whole epoch seconds, and compact ages
// ("45s", "12m", "3h", "2d"). Text output is for people; JSON keys are stable.
import MailCore
import RelayPolicy

public enum JSONValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null

    static func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
    static func optional(_ number: Int?) -> JSONValue { number.map { .int($0) } ?? .null }
    static func optional(_ instant: UTCInstant?) -> JSONValue { instant.map { .string("\($0)") } ?? .null }

    var encoded: String {
        switch self {
        case .string(let text): JSONText.string(text)
        case .int(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .null: "null"
        }
    }
}

public enum AdminFormat {
    /// One JSON object on one line, members in the order given.
    public static func json(_ members: [(String, JSONValue)]) -> String {
        "{" + members.map { JSONText.string($0.0) + ":" + $0.1.encoded }.joined(separator: ",") + "}"
    }

    /// `12m`: the largest whole unit of `seconds` (negative reads as 0).
    public static func age(seconds: Int64) -> String {
        let value = max(0, seconds)
        if value < 60 { return "\(value)s" }
        if value < 3600 { return "\(value / 60)m" }
        if value < 86_400 { return "\(value / 3600)h" }
        return "\(value / 86_400)d"
    }

    /// `2026-11-03T14:05:00Z (in 3m)`, `... (4m ago)`, or `now` within a second of `now`.
    public static func moment(_ instant: UTCInstant, now: UTCInstant) -> String {
        let seconds = instant.duration(since: now).components.seconds
        if seconds == 0 { return "\(instant) (now)" }
        return seconds > 0 ? "\(instant) (in \(age(seconds: seconds)))" : "\(instant) (\(age(seconds: -seconds)) ago)"
    }

    /// Pads `text` on the right to `width` characters (never truncates).
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Columns separated by two spaces, each padded to the widest cell of its column; the last is not padded.
    static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() where index < columns - 1 { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in index < columns - 1 ? pad(cell, widths[index]) : cell }
                .joined(separator: "  ")
        }
    }
}

/// SQL for reading a timestamptz column as whole seconds since the epoch (UTC);
/// only ever applied to our own column names, never to input.
enum SQLTime {
    static func seconds(_ column: String) -> String { "floor(extract(epoch FROM \(column)))::bigint" }

    static func instant(_ text: String?) -> UTCInstant? {
        text.flatMap { Int64($0) }.map { UTCInstant(secondsSinceEpoch: $0) }
    }
}
