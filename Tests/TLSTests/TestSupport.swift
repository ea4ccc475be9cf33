// Test support: a throwaway PKI made once per test run by scripts/test-ca.sh
// (real openssl CLI), an in-memory pump between two sessions, and
// deterministic pseudo-random bytes. No mocks: every session is real OpenSSL.
import Foundation
@testable import TLS

/// Paths of the PKI written by scripts/test-ca.sh into a fresh temporary directory.
struct TestPKI: Sendable {
    let directory: String
    func path(_ name: String) -> String { directory + "/" + name }
    var caFile: String { path("ca.crt") }
    var serverCertificate: String { path("server.crt") }
    var serverKey: String { path("server.key") }

    static let shared: TestPKI = {
        // Inside .build, remade each run: nothing is left behind in /tmp.
        let repository = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = repository.appendingPathComponent(".build/test-pki").path
        try? FileManager.default.removeItem(atPath: directory)
        let script = repository.appendingPathComponent("scripts/test-ca.sh").path
        let status = runCommand("/bin/sh", [script, directory])
        precondition(status == 0, "scripts/test-ca.sh failed with status \(status)")
        return TestPKI(directory: directory)
    }()

    func serverContext() throws -> TLSServerContext {
        try TLSServerContext(certificateChainFile: serverCertificate, privateKeyFile: serverKey)
    }
    func clientContext() throws -> TLSClientContext {
        try TLSClientContext(caFile: caFile)
    }
}

@discardableResult
func runCommand(_ executable: String, _ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    do { try process.run() } catch { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}

/// Moves pending ciphertext from `from` to `to`; returns the byte count moved.
@discardableResult
func move(from: TLSSession, to: TLSSession, bytesAtATime: Bool = false) -> Int {
    let bytes = from.takeCiphertext()
    if bytesAtATime {
        for byte in bytes { to.feed([byte]) }
    } else {
        to.feed(bytes)
    }
    return bytes.count
}

/// Drives both handshakes in memory until both finish, one fails, or nothing moves.
func handshake(client: TLSSession, server: TLSSession, bytesAtATime: Bool = false)
    -> (client: TLSSession.HandshakeResult, server: TLSSession.HandshakeResult) {
    var clientResult = client.handshake()
    var serverResult = server.handshake()
    for _ in 0..<50 {
        let moved = move(from: client, to: server, bytesAtATime: bytesAtATime)
        serverResult = server.handshake()
        let movedBack = move(from: server, to: client, bytesAtATime: bytesAtATime)
        clientResult = client.handshake()
        if case .failed = clientResult { break }
        if case .failed = serverResult { break }
        if clientResult == .done && serverResult == .done && moved == 0 && movedBack == 0 { break }
    }
    return (clientResult, serverResult)
}

/// A connected, established pair on the test PKI ("localhost").
func establishedPair(serverContext: TLSServerContext? = nil) throws -> (client: TLSSession, server: TLSSession) {
    let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: "localhost")
    let server = try TLSSession(server: serverContext ?? TestPKI.shared.serverContext())
    let results = handshake(client: client, server: server)
    guard results.client == .done, results.server == .done else {
        throw TestFailure("handshake failed: \(results)")
    }
    return (client, server)
}

/// Reads everything currently decryptable from `session` into `sink`; returns the last result.
@discardableResult
func drain(_ session: TLSSession, into sink: inout [UInt8]) -> TLSSession.ReadResult {
    while true {
        let result = session.readPlaintext(into: &sink, max: 64 * 1024)
        guard case .bytes = result else { return result }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// xorshift64*: reproducible bytes without Foundation's random.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    var bytes = [UInt8]()
    bytes.reserveCapacity(count)
    while bytes.count < count {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let word = state &* 0x2545_F491_4F6C_DD1D
        withUnsafeBytes(of: word) { bytes.append(contentsOf: $0.prefix(count - bytes.count)) }
    }
    return bytes
}
