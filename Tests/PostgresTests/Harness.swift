// Test plumbing: the database under test (MAILGATE_TEST_DATABASE_URL, set by
// scripts/test.sh), connections on a reactor of their own per test
// (ReactorTesting), and unique names so parallel tests never collide.
import Dispatch
import Foundation
import Postgres
import Reactor
import ReactorTesting
import Testing

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

/// Runs SQL text through the simple protocol (CREATE DATABASE and friends).
func runScript(_ sql: String, url: String? = nil) throws -> [PGResult] {
    try withConnection(url: url) { (connection, _, finish: @escaping (Result<[PGResult], PGError>) -> Void) in
        connection.script(sql, completion: finish)
    }.get()
}

/// A database of its own for `body`, dropped afterwards.
func withFreshDatabase<Value>(_ body: (String) throws -> Value) throws -> Value {
    let base = try testDatabaseURL()
    let name = uniqueName("mgtest")
    _ = try runScript("CREATE DATABASE \(name)")
    defer { _ = try? runScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    return try body(databaseURL(base, database: name))
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// Runs a command to completion (posix_spawn and waitpid: Foundation's
/// Process.waitUntilExit hung here on a test thread); returns its exit status
/// and standard output. Standard error is inherited.
@discardableResult
func runProcess(_ arguments: [String]) -> (status: Int32, output: String) {
    var pipeFDs: [Int32] = [0, 0]
    guard pipe(&pipeFDs) == 0 else { return (-1, "pipe failed") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
    posix_spawn_file_actions_addclose(&actions, pipeFDs[1])
    let argv = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
    close(pipeFDs[1])
    guard spawned == 0 else {
        close(pipeFDs[0])
        return (-1, "posix_spawn failed: \(spawned)")
    }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        output.append(contentsOf: chunk[0..<count])
    }
    close(pipeFDs[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
    return (exitStatus, String(decoding: output, as: UTF8.self))
}

/// A PostgreSQL of its own (scripts/pg.sh) for tests that restart the
/// server: restarting the shared one would break every other test in flight.
struct PrivateCluster: Sendable {
    let directory: String
    let url: String

    static func start() throws -> PrivateCluster {
        let directory = "/tmp/" + uniqueName("mailgate-pgtest")
        let started = runProcess(["bash", repositoryRoot + "/scripts/pg.sh", "start", directory])
        struct StartFailed: Error, CustomStringConvertible { let description: String }
        guard started.status == 0 else { throw StartFailed(description: "pg.sh start \(directory): \(started.output)") }
        return PrivateCluster(directory: directory, url: started.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func restart() -> Bool { runProcess(["bash", repositoryRoot + "/scripts/pg.sh", "restart", directory]).status == 0 }

    func stop() {
        runProcess(["bash", repositoryRoot + "/scripts/pg.sh", "stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
