// The machine's inbound mode (port 25 for bounces and replies): no AUTH, the null sender allowed,
// recipients only at the configured domains (550 5.7.1 elsewhere), `.deliver` instead of
// `.commit`, and the submission defences (smuggling, STARTTLS injection, limits) unchanged.

import Testing
import MailCore
@testable import SMTPProtocol

func inboundPolicy(tlsAvailable: Bool = true, maxRecipients: Int = 100, maxJunk: Int = 20) -> SMTPServerPolicy {
    SMTPServerPolicy(hostname: "mx.example.test", maxMessageSize: 10_000, maxRecipients: maxRecipients,
                     maxJunkCommands: maxJunk, implicitTLS: false, tlsAvailable: tlsAvailable,
                     inbound: SMTPInboundPolicy(domains: ["Example.TEST", "replies.example.test"]),
                     clock: { fixedNow })
}

private let reply = "From: Bob <bob@example.org>\r\nTo: alice@example.test\r\nSubject: Re: hi\r\n\r\nThanks\r\n"

@Suite struct InboundModeTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var commands: String
        var expected: [String]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "plain session without TLS or AUTH delivers",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                + reply + ".\r\n",
             expected: ["250", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0"]),
        Case(name: "null sender (a bounce) is accepted",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\n",
             expected: ["250", "250 2.1.0", "250 2.1.5"]),
        Case(name: "domains compare case-insensitively",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@EXAMPLE.test>\r\n",
             expected: ["250", "250 2.1.0", "250 2.1.5"]),
        Case(name: "second configured domain",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<x@replies.example.test>\r\n",
             expected: ["250", "250 2.1.0", "250 2.1.5"]),
        Case(name: "other domain is no relay",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<victim@example.org>\r\n",
             expected: ["250", "250 2.1.0", "550 5.7.1"]),
        Case(name: "subdomain of a configured domain is another domain",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@sub.example.test>\r\n",
             expected: ["250", "250 2.1.0", "550 5.7.1"]),
        Case(name: "address literal is refused",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@[127.0.0.1]>\r\n",
             expected: ["250", "250 2.1.0", "550 5.7.1"]),
        Case(name: "DATA with only refused recipients",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n",
             expected: ["250", "250 2.1.0", "550 5.7.1", "554 5.5.1"]),
        Case(name: "AUTH is not offered",
             commands: "EHLO mx.example.org\r\nAUTH PLAIN \(plainAlice)\r\n",
             expected: ["250", "503 5.5.1"]),
        Case(name: "FUTURERELEASE parameter is submission-only",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org> HOLDFOR=60\r\n",
             expected: ["250", "555 5.5.4"]),
        Case(name: "MT-PRIORITY parameter is submission-only",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org> MT-PRIORITY=3\r\n",
             expected: ["250", "555 5.5.4"]),
        Case(name: "declared SIZE over the limit",
             commands: "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org> SIZE=20000\r\n",
             expected: ["250", "552 5.3.4"]),
        Case(name: "MAIL before EHLO",
             commands: "MAIL FROM:<bob@example.org>\r\n",
             expected: ["503 5.5.1"]),
    ]

    @Test(arguments: cases)
    func transcript(_ testCase: Case) {
        for chunkSize in [0, 1] {
            let driver = SMTPProtocolTests.transcript([.client(testCase.commands)], policy: inboundPolicy(),
                                                      chunkSize: chunkSize)
            #expect(driver.codes == testCase.expected, "chunk \(chunkSize)")
        }
    }

    @Test func ehloOffersNoAuthAndNoSubmissionExtensions() {
        let driver = SMTPProtocolTests.transcript([.client("EHLO mx.example.org\r\n")], policy: inboundPolicy())
        let keywords = driver.replyLines.dropFirst().map { String($0.dropFirst(4)) }
        #expect(keywords == ["PIPELINING", "SIZE 10000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "STARTTLS",
                             "CHUNKING"])
    }

    @Test func ehloWithoutCertificateOffersNoSTARTTLS() {
        let driver = SMTPProtocolTests.transcript([.client("EHLO mx.example.org\r\n")],
                                                  policy: inboundPolicy(tlsAvailable: false))
        #expect(!driver.replyLines.contains("250-STARTTLS"))
    }

    @Test func deliverCarriesTheEnvelopeAndTheExactBytes() {
        let driver = SMTPProtocolTests.transcript([.client(
            "EHLO mx.example.org\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<victim@example.org>\r\n"
                + "RCPT TO:<bob@replies.example.test>\r\nDATA\r\n" + reply + ".\r\n")], policy: inboundPolicy())
        #expect(driver.commits.isEmpty)
        #expect(driver.deliveries.count == 1)
        let expected = SMTPInboundEnvelope(
            sender: nil, recipients: [MailboxAddress(localPart: "alice", domain: "example.test"),
                                      MailboxAddress(localPart: "bob", domain: "replies.example.test")],
            heloName: "mx.example.org", extendedHello: true, overTLS: false)
        #expect(driver.deliveries.first?.envelope == expected)
        #expect(driver.deliveries.first?.message == bytes(reply))
    }

    @Test func bdatDeliversToo() {
        let body = bytes(reply)
        let driver = SMTPProtocolTests.transcript([
            .client("EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\n"),
            .client("BDAT \(body.count) LAST\r\n" + reply),
        ], policy: inboundPolicy())
        #expect(driver.deliveries.first?.envelope.chunked == true)
        #expect(driver.deliveries.first?.message == body)
    }

    @Test func fromHeaderOfAStrangerIsFine() {
        // Submission would refuse a From: the user does not own; inbound mail is from strangers.
        let driver = SMTPProtocolTests.transcript([.client(
            "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                + reply + ".\r\n")], policy: inboundPolicy())
        #expect(driver.codes.last == "250 2.0.0")
    }

    @Test func databaseDownAnswers451() {
        let driver = SMTPProtocolTests.transcript([.client(
            "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                + reply + ".\r\nNOOP\r\n")], policy: inboundPolicy(), commitFails: true)
        #expect(driver.codes.suffix(2) == ["451 4.3.0", "250 2.0.0"])
    }

    @Test(arguments: SmugglingTests.fakeEnds)
    func smugglingIsRefused(_ fakeEnd: String) {
        let open = "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
        let smuggled = "MAIL FROM:<ceo@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nFrom: ceo@example.test\r\n\r\nx\r\n"
        for chunkSize in [0, 1] {
            let driver = SMTPProtocolTests.transcript([.client(open + reply + "x" + fakeEnd + smuggled + ".\r\nNOOP\r\n")],
                                                      policy: inboundPolicy(), chunkSize: chunkSize)
            #expect(driver.codes.suffix(3) == ["354", "550 5.6.0", "250 2.0.0"], "chunk \(chunkSize)")
            #expect(driver.deliveries.isEmpty)
        }
    }

    @Test func commandsPipelinedBehindSTARTTLSAreDiscarded() {
        let driver = SMTPProtocolTests.transcript([
            .client("EHLO mx.example.org\r\nSTARTTLS\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.test>\r\n"),
            .tlsUp,
            .client("MAIL FROM:<bob@example.org>\r\n"),
        ], policy: inboundPolicy())
        #expect(driver.codes == ["250", "220 2.0.0", "503 5.5.1"])
    }

    @Test func relayProbingEndsTheSession() {
        var commands = "EHLO mx.example.org\r\n"
        for number in 0..<4 { commands += "RCPT TO:<v\(number)@example.org>\r\n" }
        let driver = SMTPProtocolTests.transcript([.client(commands)], policy: inboundPolicy(maxJunk: 2))
        #expect(driver.closed)
    }

    @Test func tooManyRecipients() {
        let driver = SMTPProtocolTests.transcript([.client(
            "EHLO mx.example.org\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n")],
            policy: inboundPolicy(maxRecipients: 1))
        #expect(driver.codes.last == "452 4.5.3")
    }

    @Test func receivedHeaderNamesTheInboundHop() {
        let envelope = SMTPInboundEnvelope(sender: nil, recipients: [MailboxAddress(localPart: "alice", domain: "example.test")],
                                           heloName: "mx(evil);", extendedHello: true, overTLS: false)
        let header = MessagePreparer.receivedHeader(inbound: envelope, context: ReceivedContext(clientAddress: "192.0.2.7"),
                                                    hostname: "mx.example.test", id: "abc", date: fixedNow)
        #expect(header == "Received: from mx_evil__ ([192.0.2.7])\r\n\tby mx.example.test (mailgate) with ESMTP id abc"
                + "\r\n\tfor <alice@example.test>; Tue, 14 Nov 2023 22:13:20 +0000\r\n")
    }
}
