// Applies migrations on one connection, callback style: take a session
// advisory lock (two nodes starting together queue here; the lock dies with
// the session if we do), create schema_migrations if missing, then apply each
// file not yet recorded, in order, inside its own transaction together with
// its schema_migrations row, and unlock. Files run through the simple query
// protocol, so they may hold several statements but must not BEGIN/COMMIT
// themselves or use statements refused inside a transaction (CREATE INDEX
// CONCURRENTLY). A recorded version whose name differs from its file stops
// the run: migrations are never renamed or replaced once applied.

public struct Migrator {
    /// pg_advisory_lock key: "mailgate" in ASCII.
    public static let lockKey: Int64 = 0x6d61_696c_6761_7465

    public let migrations: [Migration]

    public init(migrations: [Migration]) { self.migrations = migrations }

    /// Runs on `connection` (which must not be shared meanwhile). `applied`
    /// is called after each file commits; `completion` with every file
    /// applied by this run (empty: the schema was up to date).
    public func run(
        on connection: PGConnection, applied: @escaping (Migration) -> Void = { _ in },
        completion: @escaping (Result<[Migration], MigrationError>) -> Void
    ) {
        MigrationRun(connection: connection, migrations: migrations, applied: applied, completion: completion).start()
    }
}

private final class MigrationRun {
    let connection: PGConnection
    let migrations: [Migration]
    let applied: (Migration) -> Void
    let completion: (Result<[Migration], MigrationError>) -> Void
    var pending: [Migration] = []
    var done: [Migration] = []

    init(connection: PGConnection, migrations: [Migration], applied: @escaping (Migration) -> Void,
         completion: @escaping (Result<[Migration], MigrationError>) -> Void) {
        self.connection = connection
        self.migrations = migrations
        self.applied = applied
        self.completion = completion
    }

    func start() {
        connection.query("SELECT pg_advisory_lock($1::bigint)", [PGValue(Migrator.lockKey)]) { result in
            if case .failure(let error) = result { return self.finish(.failure(self.wrap("taking the migration lock", error))) }
            self.connection.batch([
                PGStatement("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version    integer PRIMARY KEY,
                        name       text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())
                    """),
                PGStatement("SELECT version, name FROM schema_migrations ORDER BY version"),
            ]) { result in
                switch result {
                case .failure(let error):
                    self.unlockThen(.failure(self.wrap("reading schema_migrations", error)))
                case .success(let results):
                    self.plan(recorded: results[1])
                }
            }
        }
    }

    private func plan(recorded: PGResult) {
        var recordedNames: [Int: String] = [:]
        for row in recorded.rows {
            guard let version = row.int("version") else { continue }
            recordedNames[version] = row.string("name") ?? ""
        }
        for migration in migrations {
            if let name = recordedNames[migration.version] {
                guard name == migration.name else {
                    return unlockThen(.failure(MigrationError(
                        "\(migration.path): migration \(migration.version) was applied as \(name); "
                            + "an applied migration must never be renamed or replaced (add a new file instead)")))
                }
            } else {
                pending.append(migration)
            }
        }
        applyNext()
    }

    private func applyNext() {
        guard !pending.isEmpty else { return unlockThen(.success(done)) }
        let migration = pending.removeFirst()
        connection.query("BEGIN") { _ in }
        connection.script(migration.sql) { result in
            if case .failure(let error) = result {
                return self.connection.query("ROLLBACK") { _ in
                    self.unlockThen(.failure(self.wrap("\(migration.path) failed, nothing of it was applied", error)))
                }
            }
            self.connection.batch([
                PGStatement("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            [PGValue(migration.version), PGValue(migration.name)]),
                PGStatement("COMMIT"),
            ]) { result in
                switch result {
                case .success(let results) where results.last?.commandTag == "COMMIT":
                    self.done.append(migration)
                    self.applied(migration)
                    self.applyNext()
                case .success:
                    self.unlockThen(.failure(MigrationError("\(migration.path): the transaction was rolled back")))
                case .failure(let error):
                    self.connection.query("ROLLBACK") { _ in
                        self.unlockThen(.failure(self.wrap("recording \(migration.path)", error)))
                    }
                }
            }
        }
    }

    private func unlockThen(_ outcome: Result<[Migration], MigrationError>) {
        guard connection.isAlive else { return finish(outcome) }
        connection.query("SELECT pg_advisory_unlock($1::bigint)", [PGValue(Migrator.lockKey)]) { _ in
            self.finish(outcome)
        }
    }

    private func finish(_ outcome: Result<[Migration], MigrationError>) {
        completion(outcome)
    }

    private func wrap(_ what: String, _ error: PGError) -> MigrationError {
        MigrationError("\(what): \(error)", underlying: error)
    }
}
