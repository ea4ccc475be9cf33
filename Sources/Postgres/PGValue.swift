// Query parameters. Values travel beside the SQL text, never inside it:
// PQsendQueryParams sends text-format values (the server parses them as the
// parameter's type) and binary-format bytes for bytea. Text values may not
// contain NUL (PostgreSQL text cannot hold it); such a query is refused
// before it is sent, rather than silently truncated.

/// One parameter value: text the server parses as the parameter's type, or
/// raw bytes (sent in binary format, for bytea parameters).
public struct PGValue: Sendable, Hashable, CustomStringConvertible {
    enum Storage: Sendable, Hashable {
        case text(String)
        case bytes([UInt8])
    }

    let storage: Storage

    public init(_ text: String) { storage = .text(text) }
    public init<Number: BinaryInteger>(_ number: Number) { storage = .text(String(number)) }
    public init(_ flag: Bool) { storage = .text(flag ? "true" : "false") }
    public init(_ number: Double) {
        // PostgreSQL spells the special values its own way ("inf" would be refused).
        if number.isNaN {
            storage = .text("NaN")
        } else if number.isInfinite {
            storage = .text(number < 0 ? "-Infinity" : "Infinity")
        } else {
            storage = .text(number.description)
        }
    }

    /// Raw bytes for a bytea parameter (binary format: no escaping, no hex doubling).
    public static func bytes(_ bytes: [UInt8]) -> PGValue { PGValue(storage: .bytes(bytes)) }

    private init(storage: Storage) { self.storage = storage }

    public var description: String {
        switch storage {
        case .text(let text): return text
        case .bytes(let bytes): return "<\(bytes.count) bytes>"
        }
    }
}

extension PGValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
    public init(booleanLiteral value: Bool) { self.init(value) }
}

/// One statement of a pipelined batch: SQL with $1, $2... and its values.
public struct PGStatement: Sendable {
    public let sql: String
    public let params: [PGValue?]

    public init(_ sql: String, _ params: [PGValue?] = []) {
        self.sql = sql
        self.params = params
    }

    /// Put first in a batch whose writes may be lost in a server crash without harm
    /// (leases, parked retries): its commit then does not wait for the WAL flush, so it
    /// stops competing for fsyncs with commits that a client is waiting on. Scoped to
    /// the batch's transaction (set_config with is_local, which also holds in a
    /// pipeline's implicit transaction, where SET LOCAL would only warn).
    public static let relaxedCommit = PGStatement("SELECT set_config('synchronous_commit', 'off', true)")

    /// Put first in a batch whose statements must be planned for their parameters at every
    /// execution, though prepared (PreparedStatements): those whose best plan depends on the
    /// data, such as the relay's claims, whose generic plan cost twice as much with a million
    /// queued recipients as with a thousand. Scoped to the batch's transaction, as relaxedCommit.
    public static let customPlans = PGStatement("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
}
