// In-memory handshakes between a real client session and a real server session:
// bulk transfer both ways, verification outcomes, protocol floor, byte-at-a-time
// feeding, application data behind the handshake, close_notify.
import Testing
@testable import TLS
import CSSLShim

@Suite struct HandshakeTests {
    @Test func exchangesOneMegabyteEachWayByteIdentical() throws {
        let (client, server) = try establishedPair()
        let upload = pseudoRandomBytes(count: 1 << 20, seed: 1)
        let download = pseudoRandomBytes(count: 1 << 20, seed: 2)
        var atServer: [UInt8] = []
        var atClient: [UInt8] = []
        var offset = 0
        while offset < upload.count {
            let end = min(offset + 60_000, upload.count)
            offset += try client.writePlaintext(upload[offset..<end])
            move(from: client, to: server)
            drain(server, into: &atServer)
            move(from: server, to: client)  // tickets, acks: none expected, harmless
        }
        offset = 0
        while offset < download.count {
            let end = min(offset + 60_000, download.count)
            offset += try server.writePlaintext(download[offset..<end])
            move(from: server, to: client)
            drain(client, into: &atClient)
        }
        #expect(atServer == upload)
        #expect(atClient == download)
    }

    @Test func negotiatesTLS13AndDescribesIt() throws {
        let (client, server) = try establishedPair()
        #expect(client.protocolVersion == "TLSv1.3")
        #expect(server.receivedHeaderDescription == "TLS1.3 TLS_AES_256_GCM_SHA384")
        #expect(client.peerCertificateSubject == "CN=localhost,O=mailgate test")
        #expect(server.requestedServerName == "localhost")
    }

    @Test(arguments: ["localhost", "mail.example.test", "127.0.0.1", "MAIL.EXAMPLE.TEST"])
    func acceptsEveryNameInTheCertificate(name: String) throws {
        let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: name)
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        #expect(handshake(client: client, server: server).client == .done)
    }

    @Test func sendsNoSNIForAnIPLiteral() throws {
        let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: "127.0.0.1")
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        _ = handshake(client: client, server: server)
        #expect(server.requestedServerName == nil)
    }

    struct RefusalCase: Sendable, CustomStringConvertible {
        let name: String
        let serverCertificate: String
        let serverKey: String
        let trust: String?   // nil = system CAs
        let serverName: String
        let verifyResult: String
        var description: String { name }
    }

    static let refusals: [RefusalCase] = [
        RefusalCase(name: "wrong host name", serverCertificate: "server.crt", serverKey: "server.key",
                    trust: "ca.crt", serverName: "other.example.test", verifyResult: "hostname mismatch"),
        RefusalCase(name: "certificate for another host", serverCertificate: "wrong-host.crt",
                    serverKey: "wrong-host.key", trust: "ca.crt", serverName: "localhost",
                    verifyResult: "hostname mismatch"),
        RefusalCase(name: "wrong IP address", serverCertificate: "server.crt", serverKey: "server.key",
                    trust: "ca.crt", serverName: "127.0.0.2", verifyResult: "IP address mismatch"),
        RefusalCase(name: "partial wildcard-free name", serverCertificate: "server.crt", serverKey: "server.key",
                    trust: "ca.crt", serverName: "example.test", verifyResult: "hostname mismatch"),
        RefusalCase(name: "unknown CA (configured CA file)", serverCertificate: "other-server.crt",
                    serverKey: "other-server.key", trust: "ca.crt", serverName: "localhost",
                    verifyResult: "unable to get local issuer certificate"),
        RefusalCase(name: "unknown CA (system CAs)", serverCertificate: "server.crt", serverKey: "server.key",
                    trust: nil, serverName: "localhost", verifyResult: "unable to get local issuer certificate"),
    ]

    @Test(arguments: refusals)
    func clientRefuses(_ refusal: RefusalCase) throws {
        let pki = TestPKI.shared
        let serverContext = try TLSServerContext(certificateChainFile: pki.path(refusal.serverCertificate),
                                                 privateKeyFile: pki.path(refusal.serverKey))
        let clientContext = try TLSClientContext(caFile: refusal.trust.map(pki.path))
        let client = try TLSSession(client: clientContext, serverName: refusal.serverName)
        let server = try TLSSession(server: serverContext)
        let results = handshake(client: client, server: server)
        guard case .failed(let error) = results.client else {
            Issue.record("client accepted: \(results)")
            return
        }
        #expect(error.code == .verificationFailed && error.verifyResult == refusal.verifyResult,
                "\(error)")
    }

    @Test func verifiesAChainThroughAnIntermediate() throws {
        let pki = TestPKI.shared
        let serverContext = try TLSServerContext(certificateChainFile: pki.path("chain.crt"),
                                                 privateKeyFile: pki.path("chain.key"))
        let client = try TLSSession(client: pki.clientContext(), serverName: "localhost")
        let server = try TLSSession(server: serverContext)
        #expect(handshake(client: client, server: server).client == .done)
    }

    @Test func serverRefusesATLS11OnlyClient() throws {
        let oldClient = try TLSClientContext(caFile: TestPKI.shared.caFile, testingMaximumVersion: MG_TLS1_1_VERSION)
        let client = try TLSSession(client: oldClient, serverName: "localhost")
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        let results = handshake(client: client, server: server)
        guard case .failed(let error) = results.server else {
            Issue.record("server accepted TLS 1.1: \(results)")
            return
        }
        #expect(error.code == .handshakeFailed && error.openSSLReason.contains("unsupported protocol"), "\(error)")
    }

    @Test func completesWhenFedOneByteAtATime() throws {
        let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: "localhost")
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        let results = handshake(client: client, server: server, bytesAtATime: true)
        #expect(results.client == .done && results.server == .done)
        let message = Array("EHLO client.example.test\r\n".utf8)
        try client.writePlaintext(message)
        move(from: client, to: server, bytesAtATime: true)
        var received: [UInt8] = []
        drain(server, into: &received)
        #expect(received == message)
    }

    @Test func deliversApplicationDataThatArrivedWithTheLastHandshakeFlight() throws {
        // TLS 1.3: the client is done after its first read; its Finished and its
        // first command then reach the server in one read.
        let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: "localhost")
        let server = try TLSSession(server: TestPKI.shared.serverContext())
        _ = client.handshake()
        move(from: client, to: server)
        _ = server.handshake()
        move(from: server, to: client)
        #expect(client.handshake() == .done)
        try client.writePlaintext(Array("a001 CAPABILITY\r\n".utf8))
        move(from: client, to: server)  // Finished + application data in one feed
        #expect(server.handshake() == .done)
        var received: [UInt8] = []
        drain(server, into: &received)
        #expect(received == Array("a001 CAPABILITY\r\n".utf8))
    }

    @Test func closeNotifyIsSeenAsClosed() throws {
        let (client, server) = try establishedPair()
        try client.writePlaintext(Array("QUIT\r\n".utf8))
        client.shutdown()
        move(from: client, to: server)
        var received: [UInt8] = []
        let last = drain(server, into: &received)
        #expect(received == Array("QUIT\r\n".utf8) && last == .closed)
    }

    @Test func writeAfterShutdownIsRefused() throws {
        let (client, _) = try establishedPair()
        client.shutdown()
        #expect(throws: TLSError.self) { try client.writePlaintext([1, 2, 3]) }
    }

    @Test func writeBeforeHandshakeAcceptsNothing() throws {
        let client = try TLSSession(client: TestPKI.shared.clientContext(), serverName: "localhost")
        #expect(try client.writePlaintext([1, 2, 3]) == 0)
    }

    @Test func takeCiphertextIsEmptyWhenIdle() throws {
        let (client, _) = try establishedPair()
        _ = client.takeCiphertext()
        #expect(client.takeCiphertext().isEmpty && client.pendingCiphertextCount == 0)
    }

    @Test func takeCiphertextAppendingMatchesTheCopy() throws {
        let (client, server) = try establishedPair()
        let payload = pseudoRandomBytes(count: 100_000, seed: 7)
        try client.writePlaintext(payload)
        var outgoing: [UInt8] = [0xAA]
        let count = client.takeCiphertext(appendingTo: &outgoing)
        server.feed(outgoing[1...])
        var received: [UInt8] = []
        drain(server, into: &received)
        #expect(count == outgoing.count - 1 && received == payload)
    }

    @Test(arguments: ["", "[]"])
    func refusesUnusableServerNames(name: String) throws {
        let context = try TestPKI.shared.clientContext()
        #expect(throws: TLSError.self) { try TLSSession(client: context, serverName: name) }
    }

    @Test func refusesAServerNameWithANulByte() throws {
        let context = try TestPKI.shared.clientContext()
        #expect(throws: TLSError.self) { try TLSSession(client: context, serverName: "good.example\u{0}.evil") }
    }
}
