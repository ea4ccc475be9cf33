// Pre-login flows beyond one command: STARTTLS injection, SASL continuation
// rounds, relay handoff with pipelined bytes, upstream failures, limits,
// timeouts, held input, and identical transcripts for every chunking.
import Testing
@testable import IMAPProtocol

@Suite struct PreLoginFlowTests {
    @Test func startTLSInjectionIsDiscarded() {
        // CVE-2011-0411: the LOGIN rides in the same packet as STARTTLS, in plaintext.
        let injected = "b LOGIN alice secret\r\n"
        let driver = preLogin([.client("a STARTTLS\r\n" + injected)], implicitTLS: false)
        #expect(driver.actions.contains(.log(.discardedAfterSTARTTLS)))
        #expect(!driver.actions.contains { if case .verifyCredentials = $0 { true } else { false } })
        #expect(driver.lines.dropFirst() == ["a OK Begin TLS negotiation now"])
    }

    @Test func startTLSInjectionByteByByteIsDiscarded() {
        let driver = preLogin([.client("a STARTTLS\r\nb LOGIN alice secret\r\n"), .tlsUp, .client("c NOOP\r\n")],
                              implicitTLS: false, chunkSize: 1)
        #expect(driver.lines.dropFirst() == ["a OK Begin TLS negotiation now", "c OK NOOP completed"])
    }

    @Test func bytesDuringTheHandshakeAreDiscarded() {
        let driver = preLogin([.client("a STARTTLS\r\n"), .client("b LOGIN alice secret\r\n"), .tlsUp, .client("c NOOP\r\n")],
                              implicitTLS: false)
        #expect(driver.lines.dropFirst() == ["a OK Begin TLS negotiation now", "c OK NOOP completed"])
    }

    @Test func partialCommandBeforeSTARTTLSDoesNotSurviveTheHandshake() {
        // "x" started before TLS must not be completed by bytes sent after it.
        let driver = preLogin([.client("a STARTTLS\r\nb LOG"), .tlsUp, .client("c NOOP\r\n")], implicitTLS: false)
        #expect(driver.lines.dropFirst() == ["a OK Begin TLS negotiation now", "c OK NOOP completed"])
    }

    @Test func startTLSActionFollowsTheOK() {
        let driver = preLogin([.client("a STARTTLS\r\n")], implicitTLS: false)
        #expect(Array(driver.actions.suffix(2)) == [.send(bytes("a OK Begin TLS negotiation now\r\n")), .startTLS])
    }

    @Test func authenticateWithContinuation() {
        let driver = preLogin([.client("a AUTHENTICATE PLAIN\r\n"), .client(plainAliceSecret + "\r\n")], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["+ ", "a OK [CAPABILITY \(dovecotVisible)] Logged in"])
    }

    @Test func authenticateCancelled() {
        let driver = preLogin([.client("a AUTHENTICATE PLAIN\r\n*\r\nb NOOP\r\n")], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["+ ", "a BAD Authentication cancelled", "b OK NOOP completed"])
    }

    @Test func authenticateContinuationWithBrokenBase64() {
        let driver = preLogin([.client("a AUTHENTICATE PLAIN\r\nnot base64!\r\n")], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["+ ", "a BAD Invalid base64 data"])
    }

    @Test func authenticateContinuationWithWrongPassword() {
        let driver = preLogin([.client("a AUTHENTICATE PLAIN\r\nAGFsaWNlAHdyb25n\r\n")], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["+ ", "a NO [AUTHENTICATIONFAILED] Authentication failed"])
    }

    @Test func authenticateContinuationLineTooLong() {
        let driver = preLogin([.client("a AUTHENTICATE PLAIN\r\n" + String(repeating: "A", count: 9000))], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["+ ", "* BYE SASL response too long"])
        #expect(driver.closed)
    }

    @Test func loginHandsOverPipelinedBytes() {
        let driver = preLogin([.client("a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1 (FLAGS)\r\n")], implicitTLS: true)
        #expect(driver.relayed == bytes("b SELECT INBOX\r\nc FETCH 1 (FLAGS)\r\n"))
        #expect(driver.session.isRelaying)
        #expect(driver.session.loggedInUser == "alice")
    }

    @Test func authenticateContinuationHandsOverPipelinedBytes() {
        let driver = preLogin([.client("a AUTHENTICATE PLAIN\r\n"), .client(plainAliceSecret + "\r\nb IDLE\r\n")], implicitTLS: true)
        #expect(driver.relayed == bytes("b IDLE\r\n"))
    }

    @Test func loginOrderOfActions() {
        let driver = preLogin([.client("a LOGIN alice secret\r\n")], implicitTLS: true)
        #expect(Array(driver.actions.dropFirst()) == [
            .verifyCredentials(IMAPLoginRequest(user: "alice", password: "secret", mechanism: .login)),
            .connectUpstream(user: "alice"),
            .send(bytes("a OK [CAPABILITY \(dovecotVisible)] Logged in\r\n")),
            .log(.loginSucceeded(user: "alice", mechanism: .login)),
            .startRelay(pendingClientBytes: []),
        ])
    }

    @Test func inputAfterRelayIsNotTheSessionsBusiness() {
        var driver = preLogin([.client("a LOGIN alice secret\r\n")], implicitTLS: true)
        #expect(driver.session.receive(bytes("b NOOP\r\n")) == [])
    }

    @Test func upstreamUnavailable() {
        let driver = preLogin([.client("a LOGIN alice secret\r\nb NOOP\r\n")], implicitTLS: true,
                              upstream: .failed(.unavailable("connection refused")))
        #expect(driver.lines.dropFirst() == ["a NO [UNAVAILABLE] Mail server unavailable, try again later", "b OK NOOP completed"])
        #expect(driver.logs.contains(.upstreamLoginFailed(user: "alice", .unavailable("connection refused"))))
    }

    @Test func upstreamRejectsTheAccountCredentials() {
        // The client's password was right: it must not be told otherwise.
        let driver = preLogin([.client("a LOGIN alice secret\r\n")], implicitTLS: true,
                              upstream: .failed(.authenticationRejected("Invalid credentials")))
        #expect(driver.lines.dropFirst() == ["a NO [UNAVAILABLE] Mail server unavailable, try again later"])
    }

    @Test func upstreamWithoutCapabilitiesGivesPlainOK() {
        let driver = preLogin([.client("a LOGIN alice secret\r\n")], implicitTLS: true, upstream: .loggedIn(capabilities: ["STARTTLS"]))
        #expect(driver.lines.dropFirst() == ["a OK Logged in"])
    }

    @Test func idIsRecorded() {
        let driver = preLogin([.client("a ID (\"name\" \"Thunderbird\" \"version\" \"115.1\" \"os\" NIL)\r\n")], implicitTLS: true)
        let expected = [IMAPIDParameter(name: "name", value: "Thunderbird"), IMAPIDParameter(name: "version", value: "115.1"),
                        IMAPIDParameter(name: "os", value: nil)]
        #expect(driver.session.clientID == expected)
    }

    @Test func idWithLiteralValue() {
        let driver = preLogin([.client("a ID (\"name\" {4}\r\nmutt)\r\n")], implicitTLS: true)
        #expect(driver.session.clientID == [IMAPIDParameter(name: "name", value: "mutt")])
    }

    @Test func loginWithSynchronisingLiterals() {
        let driver = preLogin([.client("a LOGIN {5}\r\n"), .client("alice {6}\r\n"), .client("secret\r\n")], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["+ Ready for literal data", "+ Ready for literal data",
                                             "a OK [CAPABILITY \(dovecotVisible)] Logged in"])
    }

    @Test func tooManyBadCommandsCloses() {
        let driver = preLogin([.client(String(repeating: "a XYZZY\r\n", count: 12))], implicitTLS: true)
        #expect(driver.lines.count == 1 + 11 + 1)
        #expect(driver.lines.last == "* BYE Too many invalid commands")
        #expect(driver.closed)
    }

    @Test func tenBadCommandsAreTolerated() {
        let driver = preLogin([.client(String(repeating: "a XYZZY\r\n", count: 10) + "b NOOP\r\n")], implicitTLS: true)
        #expect(driver.lines.last == "b OK NOOP completed")
    }

    @Test func tooManyFailedLoginsCloses() {
        let driver = preLogin([.client(String(repeating: "a LOGIN alice wrong\r\n", count: 5))], implicitTLS: true)
        let expected: [String] = Array(repeating: "a NO [AUTHENTICATIONFAILED] Authentication failed", count: 4)
            + ["* BYE Too many failed logins"]
        #expect(Array(driver.lines.dropFirst()) == expected)
    }

    @Test func logoutClosesAndIgnoresTheRest() {
        let driver = preLogin([.client("a LOGOUT\r\nb NOOP\r\n")], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["* BYE Logging out", "a OK LOGOUT completed"])
        #expect(driver.actions.last == .close)
    }

    @Test func idleTimeout() {
        let driver = preLogin([.timeout(.idle)], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["* BYE Idle for too long, closing connection"])
        #expect(driver.closed)
    }

    @Test func loginDeadline() {
        let driver = preLogin([.timeout(.loginDeadline)], implicitTLS: false)
        #expect(driver.lines.dropFirst() == ["* BYE Login took too long, closing connection"])
    }

    @Test func timeoutDuringHandshakeClosesWithoutPlaintext() {
        let driver = preLogin([.client("a STARTTLS\r\n"), .timeout(.idle)], implicitTLS: false)
        #expect(driver.lines.dropFirst() == ["a OK Begin TLS negotiation now"])
        #expect(driver.actions.last == .close)
    }

    @Test func hundredKilobyteLineCloses() {
        let driver = preLogin([.client("a LOGIN " + String(repeating: "x", count: 100_000))], implicitTLS: true)
        #expect(driver.lines.dropFirst() == ["* BYE Command line too long"])
        #expect(driver.closed)
    }

    @Test func inputHeldWhileCheckingIsBounded() {
        var driver = PreLoginDriver(implicitTLS: true)
        driver.answersEvents = false
        driver.run([.client("a LOGIN alice secret\r\n"), .clientBytes(Array(repeating: 0x41, count: 65537))])
        #expect(driver.lines == ["* BYE Too much input while logging in"])
        #expect(driver.closed)
    }

    @Test func inputHeldWhileCheckingRunsAfterARejection() {
        var driver = PreLoginDriver(implicitTLS: true)
        driver.answersEvents = false
        driver.run([.client("a LOGIN alice wrong\r\n"), .client("b NOOP\r\n")])
        driver.handle(driver.session.credentialsVerified(.rejected))
        #expect(driver.lines == ["a NO [AUTHENTICATIONFAILED] Authentication failed", "b OK NOOP completed"])
    }

    @Test func lateEventsAreIgnored() {
        var session = IMAPPreLoginSession(policy: IMAPPreLoginPolicy(implicitTLS: true))
        #expect(session.credentialsVerified(.accepted(user: "alice")) == [])
        #expect(session.upstreamLoginFinished(.loggedIn(capabilities: [])) == [])
        #expect(session.tlsEstablished() == [])
    }

    @Test func passwordStaysOutOfDescriptions() {
        let request = IMAPLoginRequest(user: "alice", password: "hunter2", mechanism: .login)
        #expect(!"\(request)".contains("hunter2"))
    }

    @Test(arguments: [1, 3, 7])
    func startTLSInjectionIsTheSameForEveryChunking(_ chunkSize: Int) {
        let steps: [ClientStep] = [.client("a STARTTLS\r\nb LOGIN alice secret\r\nc NOOP\r\n"), .tlsUp, .client("d NOOP\r\n")]
        let whole = preLogin(steps, implicitTLS: false)
        #expect(preLogin(steps, implicitTLS: false, chunkSize: chunkSize).actions == whole.actions)
    }

    static let transcript: [ClientStep] = [
        .client("a CAPABILITY\r\nb ID (\"name\" \"x\")\r\nc XYZZY\r\n"), .client("d STARTTLS\r\n"), .tlsUp,
        .client("e CAPABILITY\r\nf LOGIN {5}\r\nalice \"wrong\"\r\ng AUTHENTICATE PLAIN\r\n*\r\n"),
        .client("h AUTHENTICATE PLAIN \(plainAliceSecret)\r\ni SELECT INBOX\r\n"),
    ]

    /// The relay may start mid-chunk; what the upstream gets in total must not change.
    @Test(arguments: [1, 2, 3, 5, 7, 13, 64])
    func transcriptIsTheSameForEveryChunking(_ chunkSize: Int) {
        let whole = preLogin(Self.transcript, implicitTLS: false)
        let chunked = preLogin(Self.transcript, implicitTLS: false, chunkSize: chunkSize)
        #expect(chunked.actionsWithoutRelayBytes == whole.actionsWithoutRelayBytes)
        #expect(chunked.forwarded == whole.forwarded)
    }

    @Test func transcriptExpectedLines() {
        let driver = preLogin(Self.transcript, implicitTLS: false)
        #expect(driver.lines == [
            "* OK [CAPABILITY \(plainCaps)] mailgate ready",
            "* CAPABILITY \(plainCaps)", "a OK CAPABILITY completed",
            "* ID (\"name\" \"mailgate\")", "b OK ID completed",
            "c BAD Unknown command",
            "d OK Begin TLS negotiation now",
            "* CAPABILITY \(tlsCaps)", "e OK CAPABILITY completed",
            "+ Ready for literal data", "f NO [AUTHENTICATIONFAILED] Authentication failed",
            "+ ", "g BAD Authentication cancelled",
            "h OK [CAPABILITY \(dovecotVisible)] Logged in",
        ])
        #expect(driver.relayed == bytes("i SELECT INBOX\r\n"))
    }
}
