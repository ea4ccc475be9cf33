// PGPool: lending under load, lazy opening up to size, transactions that
// commit or roll back, leaked transactions cleaned on release, and a clear
// error when the database cannot be reached.
import Postgres
import Reactor
import ReactorTesting
import Testing

@Suite struct PoolTests {
    struct LoadOutcome: Sendable {
        var wrongAnswers = 0
        var failures = 0
        var mostInUse = 0
        var backends: Set<Int32> = []
        var opened = 0
    }

    @Test func twoHundredConcurrentQueriesShareFourConnections() throws {
        let url = try testDatabaseURL()
        let outcome = try runReactor { (reactor: Reactor, finish: @escaping (LoadOutcome) -> Void) in
            let pool = PGPool(reactor: reactor, url: url, size: 4)
            var outcome = LoadOutcome()
            var remaining = 200
            for number in 0..<200 {
                pool.query("SELECT $1::int AS n, pg_backend_pid() AS pid", [PGValue(number)]) { result in
                    outcome.mostInUse = max(outcome.mostInUse, pool.stats.inUse)
                    switch result {
                    case .success(let rows):
                        if rows.first?.int("n") != number { outcome.wrongAnswers += 1 }
                        if let pid = rows.first?.int("pid") { outcome.backends.insert(Int32(pid)) }
                    case .failure:
                        outcome.failures += 1
                    }
                    remaining -= 1
                    if remaining == 0 {
                        outcome.opened = pool.stats.connectionsOpened
                        pool.close()
                        finish(outcome)
                    }
                }
            }
        }
        #expect(outcome.wrongAnswers == 0)
        #expect(outcome.failures == 0)
        #expect(outcome.mostInUse <= 4)
        #expect(outcome.backends.count <= 4)
        #expect(outcome.opened <= 4)
    }

    @Test func transactionCommitsWhenTheBodySucceeds() throws {
        let table = uniqueName("txok")
        try _ = run("CREATE TABLE \(table) (id int)")
        defer { _ = try? run("DROP TABLE \(table)") }
        let count = try poolScenario(table: table) { pool, done in
            pool.withTransaction({ connection, finish in
                connection.query("INSERT INTO \(table) VALUES (1), (2)") { result in finish(result.map { _ in () }) }
            }, completion: { _ in done() })
        }
        #expect(count == 2)
    }

    @Test func transactionRollsBackWhenTheBodyFails() throws {
        let table = uniqueName("txabort")
        try _ = run("CREATE TABLE \(table) (id int)")
        defer { _ = try? run("DROP TABLE \(table)") }
        let count = try poolScenario(table: table) { pool, done in
            pool.withTransaction({ (connection, finish: @escaping (Result<Void, PGError>) -> Void) in
                connection.query("INSERT INTO \(table) VALUES (1)") { _ in finish(.failure(.aborted("changed my mind"))) }
            }, completion: { _ in done() })
        }
        #expect(count == 0)
    }

    @Test func commitAfterAnIgnoredErrorIsReportedAsFailure() throws {
        let url = try testDatabaseURL()
        let error = try runReactor { (reactor: Reactor, finish: @escaping (PGError?) -> Void) in
            let pool = PGPool(reactor: reactor, url: url, size: 1)
            pool.withTransaction({ (connection, done: @escaping (Result<Void, PGError>) -> Void) in
                connection.query("SELECT 1/0") { _ in done(.success(())) }  // error ignored
            }) { result in
                pool.close()
                if case .failure(let error) = result { finish(error) } else { finish(nil) }
            }
        }
        #expect(error?.kind == .queryFailed)
    }

    @Test func releaseRollsBackALeakedTransaction() throws {
        let table = uniqueName("leak")
        try _ = run("CREATE TABLE \(table) (id int)")
        defer { _ = try? run("DROP TABLE \(table)") }
        let count = try poolScenario(table: table) { pool, done in
            pool.acquire { lent in
                guard let connection = try? lent.get() else { return done() }
                connection.query("BEGIN") { _ in }
                connection.query("INSERT INTO \(table) VALUES (1)") { _ in
                    pool.release(connection)  // no COMMIT
                    done()
                }
            }
        }
        #expect(count == 0)
    }

    @Test func unreachableDatabaseFailsQueriesPromptly() throws {
        let outcome = try runReactor { (reactor: Reactor, finish: @escaping ([String]) -> Void) in
            let pool = PGPool(reactor: reactor, url: "postgresql://postgres@127.0.0.1:1/none", size: 2)
            var kinds: [String] = []
            for _ in 0..<3 {
                pool.query("SELECT 1") { result in
                    if case .failure(let error) = result { kinds.append("\(error.kind)") }
                    if kinds.count == 3 {
                        kinds.append("errors \(pool.stats.errors > 0)")
                        pool.close()
                        finish(kinds)
                    }
                }
            }
        }
        #expect(outcome == Array(repeating: "cannot connect to PostgreSQL", count: 3) + ["errors true"])
    }

    /// Runs `body` on a size-1 pool, then counts the rows of `table`.
    private func poolScenario(table: String, _ body: @escaping @Sendable (PGPool, @escaping () -> Void) -> Void) throws -> Int? {
        let url = try testDatabaseURL()
        return try runReactor { (reactor: Reactor, finish: @escaping (Int?) -> Void) in
            let pool = PGPool(reactor: reactor, url: url, size: 1)
            body(pool) {
                pool.query("SELECT count(*) AS n FROM \(table)") { result in
                    pool.close()
                    finish((try? result.get())?.first?.int("n"))
                }
            }
        }
    }
}
