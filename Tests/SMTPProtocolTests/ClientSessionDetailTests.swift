// Details of the upstream session beyond whole transcripts: the step (and timeout) waited on at
// each point, MAIL/RCPT parameters (SIZE, BODY, SMTPUTF8, DSN) only when offered, what results
// and failures carry (replies, queue ids, retry hints, classification), one command per reply
// without PIPELINING, garbage replies in every phase, plaintext injected after STARTTLS, and a fuzz.

import Testing
import MailCore
@testable import SMTPProtocol

@Suite struct ClientSessionDetailTests {
    @Test func waitsFollowTheSession() {
        let driver = upstreamTranscript(clientConfig(.startTLS, salesLogin),
                                        postfixSetUp + [.send(twoRecipients), .server("250 2.1.0 Ok\r\n"),
                                                        .server("250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"), .server("354 go\r\n"),
                                                        .server("250 2.0.0 Ok\r\n"), .quit])
        let expected: [SMTPClientStep?] = [.greeting, .ehlo, .startTLS, .tlsHandshake, .ehlo, .auth, nil,
                                           .mail, .rcpt, .dataInitiation, .dataTermination, nil, .quit]
        #expect(driver.waits == expected)
    }

    static let timeoutDefaults: [(SMTPClientStep, Duration)] = [
        (.greeting, .seconds(300)), (.mail, .seconds(300)), (.rcpt, .seconds(300)),
        (.dataInitiation, .seconds(120)), (.dataTermination, .seconds(600)), (.ehlo, .seconds(300)),
    ]

    @Test(arguments: timeoutDefaults)
    func rfc5321TimeoutDefaults(_ testCase: (SMTPClientStep, Duration)) {
        #expect(SMTPClientTimeouts().duration(for: testCase.0) == testCase.1)
    }

    @Test func dataBlockDefaultIsThreeMinutes() {
        #expect(SMTPClientTimeouts().dataBlock == .seconds(180))
    }

    @Test func currentWaitUsesConfiguredTimeout() {
        var configuration = plainConfig
        configuration.timeouts.greeting = .seconds(7)
        let driver = upstreamTranscript(configuration, [.connect])
        #expect(driver.session.currentWait == SMTPClientWait(step: .greeting, timeout: .seconds(7)))
    }

    @Test func withoutPipeliningOnlyMAILGoesFirst() {
        let driver = upstreamTranscript(plainConfig, plainSetUp + [.send(twoRecipients)])
        #expect(driver.written == "EHLO \(relayName)\r\nMAIL FROM:<alice@example.test>\r\n")
    }

    @Test func withoutPipeliningDATAWaitsForTheLastRCPT() {
        let driver = upstreamTranscript(plainConfig, plainSetUp + [.send(twoRecipients), .server("250 OK\r\n250 OK\r\n")])
        #expect(driver.written == "EHLO \(relayName)\r\n" + oneByOne2)
    }

    static let dsnMessage: SMTPClientMessage = {
        var message = outbound(to: ["bob@example.org"], content: "Subject: caf\u{E9}\r\n\r\nol\u{E9}\r\n")
        message.dsnReturn = .headers
        message.envelopeID = "Q1+x=y"
        message.recipients[0].notify = .on([.failure, .success])
        message.recipients[0].originalRecipientAddress = "Bob@Example.org"
        return message
    }()

    @Test func parametersWhenOffered() {
        let driver = upstreamTranscript(clientConfig(.startTLS, salesLogin), postfixSetUp + [.send(Self.dsnMessage)])
        let size = Self.dsnMessage.content.count
        #expect(driver.written == postfixSetUpWritten
            + "MAIL FROM:<alice@example.test> SIZE=\(size) BODY=8BITMIME RET=HDRS ENVID=Q1+2Bx+3Dy\r\n"
            + "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Example.org\r\nDATA\r\n")
    }

    @Test func noParametersWhenNotOffered() {
        let driver = upstreamTranscript(plainConfig, [.connect, .server(plainGreeting), .server("250 old.test\r\n"),
                                                      .send(Self.dsnMessage)])
        #expect(driver.written == "EHLO \(relayName)\r\nMAIL FROM:<alice@example.test>\r\n")
    }

    @Test func smtpUTF8WhenAnAddressNeedsIt() {
        let driver = upstreamTranscript(clientConfig(.startTLS, salesLogin),
                                        postfixSetUp + [.send(outbound(to: ["jörg@example.de"]))])
        #expect(driver.written == postfixSetUpWritten + "MAIL FROM:<alice@example.test> SIZE=\(helloSize) SMTPUTF8\r\n"
            + "RCPT TO:<jörg@example.de>\r\nDATA\r\n")
    }

    @Test func nullSender() {
        let driver = upstreamTranscript(plainConfig, plainSetUp + [.send(outbound(from: nil, to: ["bob@example.org"]))])
        #expect(driver.written.hasSuffix("MAIL FROM:<>\r\n"))
    }

    @Test func dotStuffedContentOnTheWire() {
        let message = outbound(to: ["bob@example.org"], content: "Subject: x\r\n\r\n.\r\n..hidden\r\n")
        let driver = upstreamTranscript(plainConfig, plainSetUp + [.send(message), .server("250 OK\r\n"),
                                                                   .server("250 OK\r\n"), .server("354 go\r\n")])
        #expect(driver.written.hasSuffix("DATA\r\nSubject: x\r\n\r\n..\r\n...hidden\r\n.\r\n"))
    }

    @Test func resultCarriesQueueIDAndReplies() throws {
        let driver = upstreamTranscript(clientConfig(.startTLS, salesLogin), upstreamScenarios[0].steps)
        let result = try #require(driver.results.first)
        #expect(result.upstreamQueueID == "4XyZ12")
        #expect(result.dataReply == SMTPReply(250, "2.0.0", "Ok: queued as 4XyZ12"))
        #expect(result.recipients.map(\.recipient) == [mailbox("bob@example.org"), mailbox("carol@example.net")])
        #expect(result.recipients.allSatisfy { $0.fromUpstream && $0.reply == result.dataReply })
    }

    @Test func refusedRecipientCarriesItsReplyAndRetryHint() throws {
        let mixed = try #require(upstreamScenarios.first { $0.name.hasPrefix("mixed") })
        let driver = upstreamTranscript(mixed.configuration, mixed.steps)
        let greylisted = try #require(driver.results.first?.recipients[2])
        #expect(greylisted.reply.code == 450)
        #expect(greylisted.outcome == .retryMessage(after: .seconds(300)))
    }

    @Test func sizeRefusalIsLocal5_3_4() throws {
        let scenario = try #require(upstreamScenarios.first { $0.name.contains("SIZE") })
        let result = try #require(upstreamTranscript(scenario.configuration, scenario.steps).results.first)
        #expect(result.recipients.map { "\($0.reply.code) \($0.reply.enhanced ?? "") \($0.fromUpstream)" } == ["552 5.3.4 false"])
    }

    @Test func authFailureIsAPermanentAccountProblem() throws {
        let scenario = try #require(upstreamScenarios.first { $0.name.hasPrefix("535") })
        let failure = try #require(upstreamTranscript(scenario.configuration, scenario.steps).failure)
        #expect(failure.classification == .accountProblem(.authFailed))
    }

    @Test func lostConnectionAfterDataWarnsOfDuplicates() throws {
        let driver = upstreamTranscript(clientConfig(.startTLS, salesLogin),
                                        postfixSetUp + [.send(twoRecipients), .server(postfixAccept2), .closed])
        let reply = try #require(driver.results.first?.recipients.first?.reply)
        #expect(reply.text.contains("may have been delivered"))
    }

    @Test func implicitTLSAsksForTheHandshakeFirst() {
        let driver = upstreamTranscript(clientConfig(.implicitTLS, .none), [.connect])
        #expect(driver.actions == [.startTLS])
    }

    @Test func noSTARTTLSWhenSecurityIsNone() {
        let driver = upstreamTranscript(plainConfig, [.connect, .server(postfixGreeting), .server(postfixEHLOPlain)])
        #expect(driver.actions == [.send(Array("EHLO \(relayName)\r\n".utf8)), .ready])
    }

    @Test func plaintextAfterSTARTTLSReplyIsRefused() {
        let driver = upstreamTranscript(clientConfig(.startTLS, salesLogin),
                                        [.connect, .server(postfixGreeting), .server(postfixEHLOPlain),
                                         .server("220 2.0.0 Ready to start TLS\r\n250-fake\r\n250 AUTH PLAIN\r\n")])
        #expect(driver.startTLSCount == 0 && driver.failure?.kind == .protocolError)
    }

    /// Garbage at each phase ends the session as a protocol error, with the message (if any) reported.
    static let garbagePhases: [(String, [UpstreamStep])] = [
        ("greeting", [.connect]),
        ("EHLO", [.connect, .server(plainGreeting)]),
        ("MAIL", plainSetUp + [.send(twoRecipients)]),
        ("RCPT", plainSetUp + [.send(twoRecipients), .server("250 OK\r\n")]),
        ("end of data", plainSetUp + [.send(outbound(to: ["bob@example.org"])), .server("250 OK\r\n250 OK\r\n354 go\r\n")]),
    ]

    @Test(arguments: garbagePhases, ["HTTP/1.1 400 Bad Request\r\n", "25O Ok\r\n", "250-a\r\n550 b\r\n", "334 unexpected\r\n"])
    func garbageIsAProtocolError(_ phase: (String, [UpstreamStep]), garbage: String) {
        let driver = upstreamTranscript(plainConfig, phase.1 + [.server(garbage)])
        let reported = driver.results.count == (phase.1.contains { if case .send = $0 { true } else { false } } ? 1 : 0)
        #expect(driver.failure?.kind == .protocolError && driver.closed && reported)
    }

    @Test func fuzzNeverCrashesAndAlwaysEndsClosedOrWaiting() {
        var random = SplitMix64(state: 42)
        let alphabet = Array("0123456789 -.\r\n25ABCabc".utf8) + [0, 0xFF]
        var bad = 0
        for round in 0..<400 {
            var driver = ClientSessionDriver(round % 2 == 0 ? plainConfig : clientConfig(.startTLS, salesLogin))
            driver.run([.connect, .server(round % 3 == 0 ? plainGreeting : "")])
            if round % 3 == 0 { driver.run([.server(plainEHLO), .send(twoRecipients)]) }
            let length = Int(random.next() % 300)
            let noise = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            driver.run([.serverBytes(noise)], chunkSize: Int(random.next() % 7))
            if !(driver.session.isClosed || driver.session.currentWait != nil || driver.session.isReady) { bad += 1 }
        }
        #expect(bad == 0)
    }
}
