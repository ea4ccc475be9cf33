// Hostile and broken peers: garbage instead of a handshake, garbage and tampered
// records after it, peers that vanish mid-handshake or truncate the stream.
// Every case must end in .failed with the right code, never a crash or a hang.
import Testing
@testable import TLS

@Suite struct HostileInputTests {
    struct Fixture: Sendable, CustomStringConvertible {
        let name: String
        let bytes: [UInt8]
        var description: String { name }
    }

    static let garbage: [Fixture] = [
        Fixture(name: "HTTP request", bytes: Array("GET / HTTP/1.1\r\nHost: mail\r\n\r\n".utf8)),
        Fixture(name: "plaintext SMTP on a TLS port", bytes: Array("EHLO client.example\r\n".utf8)),
        Fixture(name: "plaintext IMAP on a TLS port", bytes: Array("a1 LOGIN user pass\r\n".utf8)),
        Fixture(name: "random bytes", bytes: pseudoRandomBytes(count: 4096, seed: 42)),
        Fixture(name: "zeros", bytes: [UInt8](repeating: 0, count: 100)),
        Fixture(name: "oversized record length", bytes: [0x16, 0x03, 0x01, 0xFF, 0xFF] + [UInt8](repeating: 0x41, count: 70_000)),
        Fixture(name: "SSLv2 client hello", bytes: [0x80, 0x2E, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10]
                    + [UInt8](repeating: 0x01, count: 37)),
        Fixture(name: "client hello with a truncated body", bytes: [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]),
        Fixture(name: "client hello with a body longer than its record",
                bytes: [0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0xFF, 0xFF, 0xFF, 0x03, 0x03, 0x00, 0x00]),
        Fixture(name: "fatal alert first", bytes: [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]),
        Fixture(name: "application data before any hello", bytes: [0x17, 0x03, 0x03, 0x00, 0x04, 1, 2, 3, 4]),
        Fixture(name: "change cipher spec first", bytes: [0x14, 0x03, 0x03, 0x00, 0x01, 0x01] + [UInt8](repeating: 0x16, count: 64)),
    ]

    @Test(arguments: garbage)
    func serverFailsOnGarbage(_ fixture: Fixture) throws {
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        server.feed(fixture.bytes)
        guard case .failed(let error) = server.handshake() else {
            Issue.record("no failure for \(fixture.name)")
            return
        }
        #expect(error.code == .handshakeFailed, "\(error)")
    }

    @Test(arguments: garbage)
    func serverFailsOnGarbageFedOneByteAtATime(_ fixture: Fixture) throws {
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        var outcome = server.handshake()
        for byte in fixture.bytes.prefix(2000) {
            server.feed([byte])
            outcome = server.handshake()
            if case .failed = outcome { break }
        }
        if case .wantsMore = outcome { server.feedEndOfInput(); outcome = server.handshake() }
        guard case .failed = outcome else {
            Issue.record("no failure for \(fixture.name): \(outcome)")
            return
        }
    }

    @Test(arguments: garbage)
    func clientFailsOnGarbageInsteadOfServerHello(_ fixture: Fixture) throws {
        let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: "localhost")
        _ = client.handshake()
        _ = client.takeCiphertext()
        client.feed(fixture.bytes)
        guard case .failed(let error) = client.handshake() else {
            Issue.record("no failure for \(fixture.name)")
            return
        }
        #expect(error.code == .handshakeFailed, "\(error)")
    }

    @Test(arguments: garbage)
    func establishedSessionFailsOnGarbageRecords(_ fixture: Fixture) throws {
        let (_, server) = try establishedPair()
        server.feed(fixture.bytes)
        var sink: [UInt8] = []
        guard case .failed(let error) = drain(server, into: &sink) else {
            Issue.record("no failure for \(fixture.name)")
            return
        }
        #expect(error.code == .protocolFailure && sink.isEmpty, "\(error)")
    }

    @Test func tamperedRecordFails() throws {
        let (client, server) = try establishedPair()
        try client.writePlaintext(Array("MAIL FROM:<a@example.test>\r\n".utf8))
        var record = client.takeCiphertext()
        record[record.count - 3] ^= 0x01
        server.feed(record)
        var sink: [UInt8] = []
        guard case .failed(let error) = drain(server, into: &sink) else {
            Issue.record("tampered record accepted")
            return
        }
        #expect(error.code == .protocolFailure && sink.isEmpty, "\(error)")
    }

    @Test func failureIsSticky() throws {
        let (_, server) = try establishedPair()
        server.feed(Array("garbage garbage garbage".utf8))
        var sink: [UInt8] = []
        let first = drain(server, into: &sink)
        #expect(first == server.readPlaintext(into: &sink, max: 10) && server.handshake() == .failed(firstError(first)))
        #expect(throws: TLSError.self) { try server.writePlaintext([1]) }
    }

    private func firstError(_ result: TLSSession.ReadResult) -> TLSError {
        if case .failed(let error) = result { return error }
        return TLSError(code: .protocolFailure, message: "not a failure")
    }

    // MARK: Vanishing peers

    @Test func clientVanishesBeforeSendingAnything() throws {
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        #expect(server.handshake() == .wantsMore)
        server.feedEndOfInput()
        guard case .failed(let error) = server.handshake() else {
            Issue.record("no failure")
            return
        }
        #expect(error.code == .unexpectedEOF, "\(error)")
    }

    @Test func clientVanishesInTheMiddleOfItsHello() throws {
        let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: "localhost")
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        _ = client.handshake()
        let hello = client.takeCiphertext()
        server.feed(hello.prefix(hello.count / 2))
        #expect(server.handshake() == .wantsMore)
        server.feedEndOfInput()
        guard case .failed(let error) = server.handshake() else {
            Issue.record("no failure")
            return
        }
        #expect(error.code == .unexpectedEOF, "\(error)")
    }

    @Test func serverVanishesAfterTheClientHello() throws {
        let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: "localhost")
        #expect(client.handshake() == .wantsMore)
        _ = client.takeCiphertext()
        client.feedEndOfInput()
        guard case .failed(let error) = client.handshake() else {
            Issue.record("no failure")
            return
        }
        #expect(error.code == .unexpectedEOF, "\(error)")
    }

    @Test func streamEndingWithoutCloseNotifyIsATruncationNotAClose() throws {
        let (client, server) = try establishedPair()
        try client.writePlaintext(Array("last line\r\n".utf8))
        move(from: client, to: server)
        server.feedEndOfInput()
        var sink: [UInt8] = []
        let last = drain(server, into: &sink)
        #expect(sink == Array("last line\r\n".utf8) && last == .failed(firstError(last)))
        #expect(firstError(last).code == .unexpectedEOF)
    }

    @Test func closeNotifyThenEndOfStreamIsAClose() throws {
        let (client, server) = try establishedPair()
        client.shutdown()
        move(from: client, to: server)
        server.feedEndOfInput()
        var sink: [UInt8] = []
        #expect(drain(server, into: &sink) == .closed)
    }

    @Test func bytesFedAfterEndOfInputAreIgnored() throws {
        let (client, server) = try establishedPair()
        client.shutdown()
        move(from: client, to: server)
        server.feedEndOfInput()
        server.feed(Array("injected".utf8))
        var sink: [UInt8] = []
        #expect(drain(server, into: &sink) == .closed && sink.isEmpty)
    }
}
