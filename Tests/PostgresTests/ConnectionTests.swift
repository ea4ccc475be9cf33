// PGConnection against a real PostgreSQL: connecting, the session's settings,
// parameters that prove nothing is spliced, errors confined to their own query, results.
import Postgres
import Reactor
import ReactorTesting
import Testing

@Suite struct ConnectionTests {
    @Test func connectsAndRunsASimpleQuery() throws {
        let result = try run("SELECT 1 + 1 AS two, current_database() AS db")
        #expect(result.first?.int("two") == 2)
    }

    @Test func reportsColumnNamesAndAffectedRows() throws {
        let result = try run("SELECT 'a' AS first, 'b' AS second FROM generate_series(1, 3)")
        #expect(result.columns == ["first", "second"])
        #expect(result.affectedRows == 3)
        #expect(result.count == 3)
    }

    @Test func sessionsRunWithoutJIT() throws {
        let result = try run("SELECT current_setting('jit') AS jit")
        #expect(result.first?.string("jit") == "off")
    }

    @Test func optionsInTheURLStillApplyAndWinOverMailgatesOwn() throws {
        let url = try testDatabaseURL()
        let options = "options=-c%20statement_timeout%3D4321%20-c%20jit%3Don"
        let result = try run("SELECT current_setting('statement_timeout') AS timeout, current_setting('jit') AS jit",
                             url: url + (url.contains("?") ? "&" : "?") + options)
        #expect(result.first?.string("timeout") == "4321ms")
        #expect(result.first?.string("jit") == "on")
    }

    static let tricky: [String] = [
        "'); DROP TABLE x; --",
        "O'Reilly \"quoted\" \\backslash\\ $1 $$dollar$$",
        "zürich — 日本語 — emoji 📬 — RTL עברית",
        String((1...127).map { Character(Unicode.Scalar(UInt8($0))) }),
        "",
    ]

    @Test(arguments: tricky) func textParameterRoundTripsVerbatim(value: String) throws {
        let result = try run("SELECT $1::text AS echoed, length($1::text) AS characters", [PGValue(value)])
        #expect(result.first?.string("echoed") == value)
    }

    @Test func hundredKilobyteParameterRoundTrips() throws {
        let value = String(repeating: "long ", count: 20_000)
        let result = try run("SELECT $1::text AS echoed", [PGValue(value)])
        #expect(result.first?.string("echoed") == value)
    }

    @Test func injectionAttemptIsStoredAsDataAndTableSurvives() throws {
        let table = uniqueName("inject")
        let value = "'); DROP TABLE \(table); --"
        let rows = try withConnection { (connection, _, finish: @escaping (Result<[PGResult], PGError>) -> Void) in
            connection.batch([
                PGStatement("CREATE TABLE \(table) (v text)"),
                PGStatement("INSERT INTO \(table) (v) VALUES ($1)", [PGValue(value)]),
                PGStatement("SELECT v FROM \(table)"),
                PGStatement("DROP TABLE \(table)"),
            ], completion: finish)
        }.get()
        #expect(rows[2].first?.string("v") == value)
    }

    @Test func nullsAndTypedValuesRoundTrip() throws {
        let result = try run(
            "SELECT $1::int AS n, $2::text AS missing, $3::boolean AS yes, $4::bigint AS big, $5::float8 AS real",
            [PGValue(-42), nil, PGValue(true), PGValue(Int64.max), PGValue(2.5)])
        let row = try #require(result.first)
        #expect(row.int("n") == -42)
        #expect(row.string("missing") == nil)
        #expect(row.bool("yes") == true)
        #expect(row.int("big") == Int(Int64.max))
        #expect(row.double("real") == 2.5)
    }

    @Test(arguments: [Double.infinity, -Double.infinity, 0.1, -1e300])
    func doubleParameterRoundTrips(value: Double) throws {
        let result = try run("SELECT $1::float8 AS value", [PGValue(value)])
        #expect(result.first?.double("value") == value)
    }

    @Test func byteaTravelsAsBinaryAndReadsBack() throws {
        let bytes = (0...255).map { UInt8($0) } + [0, 0, 255]
        let result = try run("SELECT $1::bytea AS blob, octet_length($1::bytea) AS size", [.bytes(bytes)])
        #expect(result.first?.bytes("blob") == bytes)
    }

    @Test(arguments: ["\\x0", "\\xzz", "abc", "\\", "\\x0g"])
    func malformedByteaTextReadsAsNil(text: String) {
        let result = PGResult(columns: ["b"], rows: [[text]], affectedRows: 1, commandTag: "SELECT 1")
        #expect(result.first?.bytes("b") == nil)
    }

    @Test func textWithNULIsRefusedBeforeSending() throws {
        let error = try withConnection { (connection, _, finish: @escaping (PGError?) -> Void) in
            connection.query("SELECT $1::text", [PGValue("a\u{0}b")]) { result in
                if case .failure(let error) = result { finish(error) } else { finish(nil) }
            }
        }
        #expect(error?.kind == .invalidQuery)
    }

    @Test func sqlErrorFailsOnlyItsOwnQuery() throws {
        struct Outcome: Sendable { var first: PGError?; var second: Int?; var third: Int? }
        let outcome = try withConnection { (connection, _, finish: @escaping (Outcome) -> Void) in
            var outcome = Outcome()
            connection.query("SELECT 1") { _ in }
            connection.query("SELECT * FROM no_such_table_anywhere") { result in
                if case .failure(let error) = result { outcome.first = error }
            }
            connection.query("SELECT 2 AS two") { result in
                outcome.second = (try? result.get())?.first?.int("two")
                connection.query("SELECT 3 AS three") { result in
                    outcome.third = (try? result.get())?.first?.int("three")
                    finish(outcome)
                }
            }
        }
        #expect(outcome.first?.sqlState == "42P01")
        #expect(outcome.first?.kind == .queryFailed)
        #expect(outcome.second == 2)
        #expect(outcome.third == 3)
    }

    @Test func errorDescriptionNamesStateAndMessage() throws {
        let error = try withConnection { (connection, _, finish: @escaping (PGError?) -> Void) in
            connection.query("SELECT 1/0") { result in
                if case .failure(let error) = result { finish(error) } else { finish(nil) }
            }
        }
        #expect(error?.description == "PostgreSQL refused the query: division by zero (SQLSTATE 22012)")
    }

    @Test func unreachableServerFailsToConnectWithClearError() throws {
        let error = try runReactor { (reactor: Reactor, finish: @escaping (PGError?) -> Void) in
            PGConnection.connect(reactor: reactor, url: "postgresql://postgres@127.0.0.1:1/none") { result in
                if case .failure(let error) = result { finish(error) } else { finish(nil) }
            }
        }
        #expect(error?.kind == .connectFailed)
    }

    @Test func badURLFailsToConnect() throws {
        let error = try runReactor { (reactor: Reactor, finish: @escaping (PGError?) -> Void) in
            PGConnection.connect(reactor: reactor, url: "postgresql://[bad") { result in
                if case .failure(let error) = result { finish(error) } else { finish(nil) }
            }
        }
        #expect(error?.kind == .connectFailed)
    }

    @Test func hostNameIsResolvedOffTheLoop() throws {
        let url = try testDatabaseURL().replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let result = try run("SELECT inet_server_addr()::text AS address", url: url)
        #expect(result.first?.string("address") != nil)
    }

    @Test func scriptRunsSeveralStatementsBetweenPipelinedQueries() throws {
        let table = uniqueName("script")
        let count = try withConnection { (connection, _, finish: @escaping (Int?) -> Void) in
            connection.query("SELECT 1") { _ in }
            connection.script("CREATE TABLE \(table) (n int); INSERT INTO \(table) VALUES (1), (2);") { _ in }
            connection.query("SELECT count(*) AS n FROM \(table)") { result in
                let count = (try? result.get())?.first?.int("n")
                connection.query("DROP TABLE \(table)") { _ in finish(count) }
            }
        }
        #expect(count == 2)
    }
}
