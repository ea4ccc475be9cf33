// Prepared statements: which SQL a session prepares and when a name may be used
// (pure), and against a real PostgreSQL that repeated queries run prepared with
// their results intact, that a failed Parse or a plan that no longer fits (a
// table changed under it) costs one failed unit and then works again.
@testable import Postgres
import Reactor
import Testing

@Suite struct PreparedStatementPlanTests {
    @Test func aNameServesOnlyAfterTheServerAcceptedItsParse() {
        var prepared = PreparedStatements()
        let sql = "SELECT 1"
        #expect(prepared.plan(for: sql) == .prepareAndExecute("mailgate_1"))
        #expect(prepared.plan(for: sql) == .unnamed)
        prepared.parsed(sql, accepted: true)
        #expect(prepared.plan(for: sql) == .execute("mailgate_1"))
    }

    @Test func aRefusedParseIsPreparedAfreshUnderANewName() {
        var prepared = PreparedStatements()
        let sql = "SELECT nope FROM"
        #expect(prepared.plan(for: sql) == .prepareAndExecute("mailgate_1"))
        prepared.parsed(sql, accepted: false)
        #expect(prepared.plan(for: sql) == .prepareAndExecute("mailgate_2"))
    }

    @Test func aForgottenStatementIsPreparedAgain() {
        var prepared = PreparedStatements()
        _ = prepared.plan(for: "SELECT 1")
        prepared.parsed("SELECT 1", accepted: true)
        prepared.forget("SELECT 1")
        #expect(prepared.plan(for: "SELECT 1") == .prepareAndExecute("mailgate_2"))
    }

    static let queries = ["SELECT 1", "  select 1", "\n\tWITH x AS (SELECT 1) SELECT * FROM x", "(SELECT 1) UNION (SELECT 2)",
                          "INSERT INTO t VALUES ($1)", "update t SET a = 1", "DELETE FROM t", "VALUES (1)"]
    static let others = ["BEGIN", "COMMIT", "CREATE TABLE t (a int)", "SET jit = off", "LISTEN x", "DISCARD ALL",
                         "", "   ", "selected", "EXPLAIN SELECT 1", "ÜPDATE t"]

    @Test(arguments: queries) func queriesArePrepared(sql: String) {
        var prepared = PreparedStatements()
        #expect(prepared.plan(for: sql) == .prepareAndExecute("mailgate_1"))
    }

    @Test(arguments: others) func otherStatementsRunUnnamed(sql: String) {
        var prepared = PreparedStatements()
        #expect(prepared.plan(for: sql) == .unnamed)
    }

    @Test func beyondTheLimitNewTextsRunUnnamedAndKnownOnesStayPrepared() {
        var prepared = PreparedStatements()
        for index in 0..<PreparedStatements.limit {
            _ = prepared.plan(for: "SELECT \(index)")
            prepared.parsed("SELECT \(index)", accepted: true)
        }
        #expect(prepared.plan(for: "SELECT -1") == .unnamed)
        #expect(prepared.plan(for: "SELECT 0") == .execute("mailgate_1"))
    }

    @Test(arguments: [("26000", true), ("0A000", true), ("23505", false), ("42601", false)])
    func stateThatInvalidatesAPreparedStatement(state: String, invalidates: Bool) {
        #expect(PreparedStatements.invalidates(sqlState: state) == invalidates)
    }
}

@Suite struct PreparedStatementTests {
    @Test func aRepeatedQueryRunsPreparedWithItsOwnParametersEachTime() throws {
        let sql = "SELECT $1::int + 1 AS n"
        let outcome = try withConnection { (connection, _, finish: @escaping ([Int?]) -> Void) in
            var answers: [Int?] = []
            func next(_ value: Int) {
                guard value <= 4 else {
                    return connection.query("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = $1",
                                            [PGValue(sql)]) { result in
                        finish(answers + [(try? result.get())?.first?.int("n")])
                    }
                }
                connection.query(sql, [PGValue(value)]) { result in
                    answers.append((try? result.get())?.first?.int("n"))
                    next(value + 1)
                }
            }
            next(1)
        }
        #expect(outcome == [2, 3, 4, 5, 1])
    }

    @Test func theParseIsNotDeliveredAsAResultAndARepeatInTheSameBatchIsAnswered() throws {
        let results = try withConnection { (connection, _, finish: @escaping (Result<[PGResult], PGError>) -> Void) in
            connection.batch([
                PGStatement("SELECT $1::text AS v", ["first"]),
                PGStatement("SELECT $1::text AS v", ["second"]),
                PGStatement("SELECT 3 AS v"),
            ], completion: finish)
        }.get()
        #expect(results.map { $0.first?.string("v") } == ["first", "second", "3"])
    }

    @Test func aRefusedParseFailsItsUnitAndTheSameTextFailsTheSameWayAgain() throws {
        let outcome = try withConnection { (connection, _, finish: @escaping ([String]) -> Void) in
            connection.query("SELECT FROM WHERE") { first in
                connection.query("SELECT FROM WHERE") { second in
                    connection.query("SELECT 5 AS five") { third in
                        finish([first.failure?.sqlState ?? "ok", second.failure?.sqlState ?? "ok",
                                (try? third.get())?.first?.string("five") ?? "failed"])
                    }
                }
            }
        }
        #expect(outcome == ["42601", "42601", "5"])
    }

    @Test func aPlanThatNoLongerFitsFailsOnceAndIsPreparedAgain() throws {
        let table = uniqueName("prepared")
        try _ = run("CREATE TABLE \(table) (a int)")
        defer { _ = try? run("DROP TABLE \(table)") }
        let select = "SELECT * FROM \(table)"
        let outcome = try withConnection { (connection, _, finish: @escaping ([String]) -> Void) in
            connection.batch([PGStatement("INSERT INTO \(table) VALUES (1)")]) { _ in
                connection.query(select) { _ in
                    connection.query(select) { prepared in
                        connection.query("ALTER TABLE \(table) ADD COLUMN b int DEFAULT 7") { _ in
                            connection.query(select) { changed in
                                connection.query(select) { again in
                                    let row = (try? again.get())?.first
                                    finish([(try? prepared.get())?.columns.joined(separator: ",") ?? "failed",
                                            changed.failure?.sqlState ?? "ok",
                                            (try? again.get())?.columns.joined(separator: ",") ?? "failed",
                                            row?.string("b") ?? "no b"])
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(outcome == ["a", "0A000", "a,b", "7"])
    }
}
