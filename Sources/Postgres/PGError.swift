// Errors from the Postgres module: what went wrong (a kind callers branch
// on), the server's SQLSTATE and message when the server said it, and a
// description an admin can read in a log line. Kind is a struct over a
// private enum (as postgres-nio's PSQLError), so adding kinds breaks no caller.

public struct PGError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Code: Sendable, Hashable {
            case connectFailed, connectionLost, queryFailed, invalidQuery, closed, aborted, unsupported
        }

        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// The server could not be reached or refused the connection (address, password, database).
        public static let connectFailed = Kind(.connectFailed)
        /// The connection broke (server restart, network) while work was pending or about to be sent.
        public static let connectionLost = Kind(.connectionLost)
        /// The server ran the statement and refused it: see `sqlState`.
        public static let queryFailed = Kind(.queryFailed)
        /// Refused before sending: a parameter the protocol cannot carry, or a bad identifier.
        public static let invalidQuery = Kind(.invalidQuery)
        /// The connection or pool was closed by its owner.
        public static let closed = Kind(.closed)
        /// The caller abandoned a transaction (it was rolled back).
        public static let aborted = Kind(.aborted)
        /// A result libpq returned that this module does not handle (COPY).
        public static let unsupported = Kind(.unsupported)

        public var description: String {
            switch code {
            case .connectFailed: return "cannot connect to PostgreSQL"
            case .connectionLost: return "connection to PostgreSQL lost"
            case .queryFailed: return "PostgreSQL refused the query"
            case .invalidQuery: return "invalid query"
            case .closed: return "PostgreSQL connection closed"
            case .aborted: return "transaction aborted"
            case .unsupported: return "unsupported PostgreSQL result"
            }
        }
    }

    public let kind: Kind
    /// Five-character SQLSTATE when the server sent one (23505: unique violation).
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let hint: String?

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
    }

    /// An application's reason to roll a transaction back.
    public static func aborted(_ reason: String) -> PGError { PGError(.aborted, reason) }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    public var description: String {
        var text = "\(kind): \(message)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail { text += "; detail: \(detail)" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }

    /// SQLSTATEs that mean the session itself ended: class 08 (connection
    /// exception) and 57P01-57P03 (administrator shutdown, crash, starting up).
    static func meansConnectionLost(_ sqlState: String?) -> Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03"
    }
}
