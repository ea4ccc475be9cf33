// The suppression list for `mailgate suppression list | add | remove`.
// Addresses and scopes are stored lower-cased; scope "" means every sender,
// otherwise the sender address it applies to (an unsubscribe). Rows the admin
// adds have source 'admin'; adding an existing entry changes nothing.
import MailCore
import Postgres
import RelayPolicy

public struct SuppressionEntry: Sendable {
    public var address: String
    public var scope: String
    public var reason: String
    public var source: String
    public var createdAt: UTCInstant
}

public enum SuppressionAdd: Sendable {
    case added(SuppressionEntry)
    /// Already on the list: the entry as it stands, unchanged.
    case alreadyPresent(SuppressionEntry)
}

public struct SuppressionAdmin {
    public static let defaultReason = "added by the admin"
    let pool: PGPool

    public init(pool: PGPool) { self.pool = pool }

    /// `text` lower-cased and trimmed when it is a mailbox address (local@domain); nil otherwise.
    public static func normalizedAddress(_ text: String) -> String? {
        let trimmed = text.trimmingBlanks.lowercased()
        return SendAsPattern.splitAddress(trimmed) == nil ? nil : trimmed
    }

    static let columns = "address, scope, reason, source, \(SQLTime.seconds("created_at")) AS created"

    /// Entries ordered by address then scope; only those of `scope` when given ("" for global ones).
    public func list(scope: String?, completion: @escaping (Result<[SuppressionEntry], PGError>) -> Void) {
        pool.query("SELECT \(Self.columns) FROM email_suppressions WHERE $1::text IS NULL OR scope = $1::text "
                   + "ORDER BY address, scope", [scope.map { PGValue($0) }]) { result in
            completion(result.map { $0.rows.compactMap(Self.entry) })
        }
    }

    public func add(address: String, scope: String, reason: String,
                    completion: @escaping (Result<SuppressionAdd, PGError>) -> Void) {
        pool.batch([
            PGStatement("""
                INSERT INTO email_suppressions (address, scope, reason, source) VALUES ($1, $2, $3, 'admin')
                ON CONFLICT (address, scope) DO NOTHING RETURNING \(Self.columns)
                """, [PGValue(address), PGValue(scope), PGValue(reason)]),
            PGStatement("SELECT \(Self.columns) FROM email_suppressions WHERE address = $1 AND scope = $2",
                        [PGValue(address), PGValue(scope)]),
        ]) { result in
            completion(result.flatMap { results in
                if let row = results.first?.first, let entry = Self.entry(row) { return .success(.added(entry)) }
                if results.count == 2, let row = results[1].first, let entry = Self.entry(row) {
                    return .success(.alreadyPresent(entry))
                }
                return .failure(PGError(.unsupported, "the suppression of \(address) could not be read back"))
            })
        }
    }

    /// Completes with the number of entries removed (0 or 1).
    public func remove(address: String, scope: String, completion: @escaping (Result<Int, PGError>) -> Void) {
        pool.query("DELETE FROM email_suppressions WHERE address = $1 AND scope = $2",
                   [PGValue(address), PGValue(scope)]) { result in
            completion(result.map(\.affectedRows))
        }
    }

    static func entry(_ row: PGRow) -> SuppressionEntry? {
        guard let address = row.string("address"), let scope = row.string("scope"),
              let created = SQLTime.instant(row["created"]) else { return nil }
        return SuppressionEntry(address: address, scope: scope, reason: row.string("reason") ?? "",
                                source: row.string("source") ?? "", createdAt: created)
    }

    // MARK: Output

    public static func listLines(_ entries: [SuppressionEntry]) -> [String] {
        guard !entries.isEmpty else { return ["No suppressed addresses"] }
        let rows = [["ADDRESS", "SCOPE", "SOURCE", "SINCE", "REASON"]] + entries.map { entry in
            [entry.address, entry.scope.isEmpty ? "*" : entry.scope, entry.source, "\(entry.createdAt)", entry.reason]
        }
        return AdminFormat.table(rows) + ["-- \(entries.count) entr\(entries.count == 1 ? "y" : "ies")"]
    }

    public static func json(_ entry: SuppressionEntry) -> String {
        AdminFormat.json([("address", .string(entry.address)), ("scope", .string(entry.scope)),
                          ("reason", .string(entry.reason)), ("source", .string(entry.source)),
                          ("created_at", .string("\(entry.createdAt)"))])
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingBlanks: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
