// Test plumbing: the database under test (MAILGATE_TEST_DATABASE_URL, set by
// scripts/test.sh), a reactor on a thread of its own per test with a
// deadline that stops it, and unique names so parallel tests never collide.
import Dispatch
import Foundation
import Postgres
import Reactor
import Synchronization
import Testing

struct HarnessTimeout: Error, CustomStringConvertible {
    var description: String { "the test's reactor deadline passed" }
}

struct MissingDatabase: Error, CustomStringConvertible {
    var description: String {
        "MAILGATE_TEST_DATABASE_URL is not set: run scripts/test.sh, or start one with "
            + "`bash scripts/pg.sh start /tmp/pgdev` and export MAILGATE_TEST_DATABASE_URL and MAILGATE_TEST_PGDATA"
    }
}

func testDatabaseURL() throws -> String {
    guard let url = ProcessInfo.processInfo.environment["MAILGATE_TEST_DATABASE_URL"], !url.isEmpty else {
        throw MissingDatabase()
    }
    return url
}

/// The same server, another database (the URL's last path segment replaced).
func databaseURL(_ url: String, database: String) -> String {
    guard let slash = url.lastIndex(of: "/") else { return url }
    let rest = url[url.index(after: slash)...]
    let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
    return String(url[...slash]) + database + query
}

func uniqueName(_ prefix: String) -> String {
    prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
}

/// Builds a reactor on a new thread, calls `body` there, and returns what
/// `body` passes to `finish`. The loop is stopped after `limit`.
func runReactor<Value: Sendable>(
    limit: Duration = .seconds(60),
    _ body: @escaping @Sendable (Reactor, @escaping (Value) -> Void) throws -> Void
) throws -> Value {
    let result = Mutex<Result<Value, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        do {
            let reactor = try Reactor()
            reactor.schedule(after: limit) {
                result.withLock { if $0 == nil { $0 = .failure(HarnessTimeout()) } }
                reactor.stop()
            }
            try body(reactor) { value in
                result.withLock { if $0 == nil { $0 = .success(value) } }
                reactor.stop()
            }
            reactor.run()
        } catch {
            result.withLock { if $0 == nil { $0 = .failure(error) } }
        }
        done.signal()
    }
    thread.stackSize = 4 << 20
    thread.start()
    done.wait()
    return try result.withLock { $0! }.get()
}

/// Connects, runs `body` with the connection, closes it when `body` finishes.
func withConnection<Value: Sendable>(
    url: String? = nil, limit: Duration = .seconds(60),
    _ body: @escaping @Sendable (PGConnection, Reactor, @escaping (Value) -> Void) -> Void
) throws -> Value {
    let target = try url ?? testDatabaseURL()
    return try runReactor(limit: limit) { (reactor: Reactor, finish: @escaping (Result<Value, PGError>) -> Void) in
        PGConnection.connect(reactor: reactor, url: target) { result in
            switch result {
            case .success(let connection):
                body(connection, reactor) { value in
                    connection.close()
                    finish(.success(value))
                }
            case .failure(let error):
                finish(.failure(error))
            }
        }
    }.get()
}

/// Runs SQL on a fresh connection and returns its result (setup and checks).
func run(_ sql: String, _ params: [PGValue?] = [], url: String? = nil) throws -> PGResult {
    try withConnection(url: url) { (connection, _, finish: @escaping (Result<PGResult, PGError>) -> Void) in
        connection.query(sql, params, completion: finish)
    }.get()
}
