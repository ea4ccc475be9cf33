// Which SQL texts a session has prepared under a name, so PostgreSQL parses and
// plans each once per session instead of at every execution (planning was a
// third of PostgreSQL's time per statement in the relay's backlog drain). Only
// queries are prepared (SELECT, INSERT, UPDATE, DELETE, WITH, VALUES), at most
// `limit` per session; the rest run unnamed. A name is used only once the
// server has accepted its Parse: an earlier unit's prepare may still fail, and
// a later unit must not depend on it. Plans are PostgreSQL's to choose (generic
// after five runs when no dearer); a batch whose best plan depends on the data
// starts with PGStatement.customPlans.

struct PreparedStatements {
    enum Plan: Equatable {
        /// Execute the statement prepared under this name.
        case execute(String)
        /// Prepare under this name, then execute it, in the same unit.
        case prepareAndExecute(String)
        /// Run unnamed (parsed and planned at every execution).
        case unnamed
    }

    static let limit = 256
    private static let preparedVerbs: Set<String> = ["select", "insert", "update", "delete", "with", "values"]

    private var names: [String: (name: String, ready: Bool)] = [:]
    private var counter = 0

    mutating func plan(for sql: String) -> Plan {
        if let entry = names[sql] { return entry.ready ? .execute(entry.name) : .unnamed }
        guard names.count < Self.limit, Self.isQuery(sql) else { return .unnamed }
        counter += 1
        let name = "mailgate_\(counter)"
        names[sql] = (name, false)
        return .prepareAndExecute(name)
    }

    /// The server answered the Parse of `sql`: its name serves later units, or it is forgotten.
    mutating func parsed(_ sql: String, accepted: Bool) {
        guard accepted else { return forget(sql) }
        names[sql]?.ready = true
    }

    /// Runs `sql` unnamed again and prepares it afresh next time (its prepared statement
    /// is gone or its plan no longer fits, e.g. after a migration changed a table).
    mutating func forget(_ sql: String) {
        names[sql] = nil
    }

    /// SQLSTATEs after which a prepared statement must be prepared again:
    /// 26000 (it no longer exists, e.g. after DISCARD ALL) and 0A000 (cached plan
    /// must not change result type).
    static func invalidates(sqlState: String?) -> Bool {
        sqlState == "26000" || sqlState == "0A000"
    }

    static func isQuery(_ sql: String) -> Bool {
        let verb = sql.utf8.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0x28 })
            .prefix(while: { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A })
        return preparedVerbs.contains(String(decoding: verb, as: UTF8.self).lowercased())
    }
}
