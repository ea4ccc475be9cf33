// Pipelined batches: one unit, one sync, one implicit transaction. An error
// in the middle rolls the whole batch back and skips what follows, and the
// session carries on; queries queued back to back are answered in order.
import Postgres
import Reactor
import ReactorTesting
import Testing

@Suite struct PipelineTests {
    struct BatchOutcome: Sendable {
        var error: PGError?
        var rowsAfter: Int?
        var nextQuery: Int?
    }

    @Test func errorInTheMiddleRollsBackTheWholeBatch() throws {
        let table = uniqueName("batch")
        try _ = run("CREATE TABLE \(table) (id int PRIMARY KEY)")
        defer { _ = try? run("DROP TABLE \(table)") }
        let outcome = try withConnection { (connection, _, finish: @escaping (BatchOutcome) -> Void) in
            var outcome = BatchOutcome()
            connection.batch([
                PGStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                PGStatement("INSERT INTO \(table) VALUES ($1)", [2]),
                PGStatement("INSERT INTO \(table) VALUES ($1)", [1]),  // duplicate key
                PGStatement("INSERT INTO \(table) VALUES ($1)", [3]),
            ]) { result in
                if case .failure(let error) = result { outcome.error = error }
            }
            connection.query("SELECT count(*) AS n FROM \(table)") { result in
                outcome.rowsAfter = (try? result.get())?.first?.int("n")
                connection.query("SELECT 7 AS seven") { result in
                    outcome.nextQuery = (try? result.get())?.first?.int("seven")
                    finish(outcome)
                }
            }
        }
        #expect(outcome.error?.sqlState == "23505")
        #expect(outcome.rowsAfter == 0)
        #expect(outcome.nextQuery == 7)
    }

    @Test func explicitBeginCommitBatchWithAnErrorLeavesNothingAndThePoolCarriesOn() throws {
        let table = uniqueName("explicit")
        try _ = run("CREATE TABLE \(table) (id int PRIMARY KEY)")
        defer { _ = try? run("DROP TABLE \(table)") }
        let url = try testDatabaseURL()
        let outcome = try runReactor { (reactor: Reactor, finish: @escaping ([String]) -> Void) in
            let pool = PGPool(reactor: reactor, url: url, size: 1)
            pool.batch([
                PGStatement("BEGIN"),
                PGStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                PGStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                PGStatement("COMMIT"),
            ]) { batch in
                pool.query("SELECT count(*) AS n FROM \(table)") { result in
                    pool.close()
                    finish([batch.failure?.sqlState ?? "no error", (try? result.get())?.first?.string("n") ?? "query failed"])
                }
            }
        }
        #expect(outcome == ["23505", "0"])
    }

    @Test func relaxedCommitHoldsForItsBatchOnly() throws {
        let settings = try withConnection { (connection, _, finish: @escaping ([String]) -> Void) in
            connection.batch([.relaxedCommit, PGStatement("SHOW synchronous_commit")]) { batch in
                let inside = (try? batch.get())?.last?.rows.first?.string(0) ?? "batch failed"
                connection.query("SHOW synchronous_commit") { after in
                    finish([inside, (try? after.get())?.first?.string(0) ?? "query failed"])
                }
            }
        }
        #expect(settings == ["off", "on"])
    }

    @Test func successfulBatchReturnsEveryResultInOrder() throws {
        let table = uniqueName("batchok")
        let results = try withConnection { (connection, _, finish: @escaping (Result<[PGResult], PGError>) -> Void) in
            connection.batch([
                PGStatement("CREATE TEMP TABLE \(table) (id int, note text)"),
                PGStatement("INSERT INTO \(table) VALUES ($1, $2), ($3, $4)", [1, "one", 2, nil]),
                PGStatement("UPDATE \(table) SET note = $1 WHERE note IS NULL", ["two"]),
                PGStatement("SELECT id, note FROM \(table) ORDER BY id"),
            ], completion: finish)
        }.get()
        #expect(results.map(\.commandTag) == ["CREATE TABLE", "INSERT 0 2", "UPDATE 1", "SELECT 2"])
        #expect(results[3].rows.map { $0.string("note") } == ["one", "two"])
    }

    @Test func explicitTransactionBatchInsideWithTransactionCommitsAtomically() throws {
        let table = uniqueName("grouped")
        try _ = run("CREATE TABLE \(table) (id int PRIMARY KEY)")
        defer { _ = try? run("DROP TABLE \(table)") }
        let url = try testDatabaseURL()
        let counts = try runReactor { (reactor: Reactor, finish: @escaping ([Int?]) -> Void) in
            let pool = PGPool(reactor: reactor, url: url, size: 2)
            pool.withTransaction({ connection, done in
                connection.batch((1...50).map { PGStatement("INSERT INTO \(table) VALUES ($1)", [PGValue($0)]) }) { done($0) }
            }) { _ in
                pool.withTransaction({ connection, done in
                    connection.batch([
                        PGStatement("INSERT INTO \(table) VALUES ($1)", [100]),
                        PGStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                    ]) { done($0) }
                }) { _ in
                    pool.query("SELECT count(*) AS n, count(*) FILTER (WHERE id = 100) AS hundred FROM \(table)") { result in
                        let row = (try? result.get())?.first
                        pool.close()
                        finish([row?.int("n"), row?.int("hundred")])
                    }
                }
            }
        }
        #expect(counts == [50, 0])
    }

    @Test func manyQueriesQueuedAtOnceAnswerInOrder() throws {
        let answers = try withConnection { (connection, _, finish: @escaping ([Int]) -> Void) in
            var answers: [Int] = []
            for number in 0..<500 {
                connection.query("SELECT $1::int AS n", [PGValue(number)]) { result in
                    answers.append((try? result.get())?.first?.int("n") ?? -1)
                    if answers.count == 500 { finish(answers) }
                }
            }
        }
        #expect(answers == Array(0..<500))
    }

    @Test func loopKeepsRunningWhileTheServerSleeps() throws {
        let events = try withConnection { (connection, reactor, finish: @escaping ([String]) -> Void) in
            var events: [String] = []
            connection.query("SELECT pg_sleep(0.5)") { _ in
                events.append("sleep done")
                finish(events)
            }
            reactor.schedule(after: .milliseconds(50)) { events.append("timer fired") }
        }
        #expect(events == ["timer fired", "sleep done"])
    }

    @Test func connectingDoesNotHoldTheLoop() throws {
        let url = try testDatabaseURL()
        let events = try runReactor { (reactor: Reactor, finish: @escaping ([String]) -> Void) in
            var events: [String] = []
            var keep: PGConnection?
            PGConnection.connect(reactor: reactor, url: url) { result in
                keep = try? result.get()
                events.append("connected")
                keep?.close()
                finish(events)
            }
            events.append("connect returned")
        }
        #expect(events == ["connect returned", "connected"])
    }
}
