// Known attacks as permanent fixtures: SMTP smuggling (every bare CR/LF arrangement around the
// end-of-data dot), STARTTLS command injection (CVE-2011-0411), over-long lines, NUL bytes,
// junk-command floods and HTTP requests sent to the SMTP port.

import Testing
import MailCore
@testable import SMTPProtocol

private let open = authPrelude + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
private let smuggled = "MAIL FROM:<mallory@example.test>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nFrom: mallory@example.test\r\n\r\nspoofed\r\n"

@Suite struct SmugglingTests {
    static let fakeEnds: [String] = [
        "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\n.\r", "\r.\n",
        "\n..\n", "\r\n.\r\r\n", "\r\n.\n\r\n", "\n\r.\r\n",
    ]

    @Test(arguments: fakeEnds)
    func fakeEndOfDataIsContent(_ fakeEnd: String) {
        let text = open + "From: alice@example.test\r\n\r\nhello" + fakeEnd + smuggled + ".\r\nNOOP\r\n"
        for chunkSize in [0, 1, 3] {
            let driver = transcript([.client(text)], chunkSize: chunkSize)
            // One DATA, one refusal for the whole thing, then the NOOP: nothing smuggled ran.
            #expect(driver.codes.suffix(3) == ["354", "550 5.6.0", "250 2.0.0"], "chunk \(chunkSize)")
            #expect(driver.commits.isEmpty)
        }
    }

    static let bareInBody: [String] = ["line\nnext\r\n", "line\rnext\r\n", "end with cr\r", "\n", "a\r\r\n"]

    @Test(arguments: bareInBody)
    func bareLineEndsInsideTheMessageAreRefused(_ body: String) {
        let driver = transcript([.client(open + "From: alice@example.test\r\n\r\n" + body + "\r\n.\r\n")])
        #expect(driver.codes.last == "550 5.6.0")
    }

    @Test func bareCRBeforeARealEndStillEndsThere() {
        // "\r\r\n.\r\n" holds a genuine CRLF.CRLF: the data ends there (refused for the bare CR)
        // and what follows is read as commands of this same session, as every RFC 5321 server does.
        let driver = transcript([.client(open + "From: alice@example.test\r\n\r\nhello\r\r\n.\r\nNOOP\r\n")])
        #expect(driver.codes.suffix(2) == ["550 5.6.0", "250 2.0.0"])
    }

    @Test func largeMessageByManyChunksIsIntact() {
        var body = "From: alice@example.test\r\n\r\n"
        for number in 0..<40_000 { body += "line \(number) .. some text to fill the line up a bit\r\n" }
        let policy = makePolicy(maxMessageSize: 5_000_000)
        let driver = transcript([.client(open + body + ".\r\n")], policy: policy, chunkSize: 65_536)
        #expect(driver.commits.first?.message == bytes(body))
    }

    @Test func properEndAfterCleanBodyCommits() {
        let driver = transcript([.client(open + simpleMessage + ".\r\n")])
        #expect(driver.commits.count == 1)
    }
}

@Suite struct STARTTLSInjectionTests {
    @Test func pipelinedCommandsAfterSTARTTLSAreDiscarded() {
        for chunkSize in [0, 1, 5] {
            let driver = transcript([.client("EHLO c\r\nSTARTTLS\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<x@y.test>\r\n"), .tlsUp,
                                     .client("NOOP\r\n")],
                                    policy: makePolicy(implicitTLS: false), chunkSize: chunkSize)
            #expect(driver.codes == ["250", "220 2.0.0", "250 2.0.0"], "chunk \(chunkSize)")
            #expect(driver.actions.filter { $0 == .log(.discardedAfterSTARTTLS) }.count == 1)
        }
    }

    @Test func sessionResetsToBeforeEHLOAfterTLS() {
        let driver = transcript([.client("EHLO c\r\nSTARTTLS\r\n"), .tlsUp, .client("MAIL FROM:<alice@example.test>\r\nEHLO c\r\n")],
                                policy: makePolicy(implicitTLS: false))
        #expect(driver.codes.suffix(2) == ["503 5.5.1", "250"])
        #expect(driver.replyLines.suffix(12).contains("250-AUTH PLAIN LOGIN"))
        #expect(!driver.replyLines.suffix(12).contains("250-STARTTLS"))
        #expect(driver.session.tlsActive)
    }

    @Test func partialCommandBeforeSTARTTLSDoesNotLeakIntoTLS() {
        // "STARTTLS\r\nMA" then, after the handshake, "IL FROM:..." must not form "MAIL FROM".
        let driver = transcript([.client("EHLO c\r\nSTARTTLS\r\nMA"), .tlsUp, .client("IL FROM:<alice@example.test>\r\n")],
                                policy: makePolicy(implicitTLS: false))
        #expect(driver.codes.last == "500 5.5.2")
    }

    @Test func ehloBeforeTLSAdvertisesSTARTTLSButNotAUTH() {
        let driver = transcript([.client("EHLO c\r\n")], policy: makePolicy(implicitTLS: false))
        #expect(driver.replyLines.contains("250-STARTTLS"))
        #expect(!driver.replyLines.contains { $0.contains("AUTH") })
    }

    @Test func ehloAdvertisesEveryExtension() {
        let driver = transcript([.client("EHLO c\r\n")])
        #expect(driver.replyLines == [
            "250-mx.example.test", "250-PIPELINING", "250-SIZE 10000", "250-8BITMIME", "250-SMTPUTF8",
            "250-ENHANCEDSTATUSCODES", "250-AUTH PLAIN LOGIN", "250-DSN", "250-CHUNKING", "250-MT-PRIORITY",
            "250 FUTURERELEASE 604800 2023-11-21T22:13:20Z",
        ])
    }

    @Test func authIsNotAdvertisedOnceAuthenticated() {
        let driver = transcript([.client(authPrelude + "EHLO again\r\n")])
        #expect(!driver.replyLines.suffix(10).contains("250-AUTH PLAIN LOGIN"))
    }
}

@Suite struct LineLimitTests {
    static let lengths: [(Int, String)] = [(998, "250 2.0.0"), (999, "500 5.5.2"), (1000, "500 5.5.2"), (5000, "500 5.5.2")]

    @Test(arguments: lengths)
    func commandLineLength(_ testCase: (Int, String)) {
        // NOOP plus padding to `testCase.0` octets before CRLF; 998 + CRLF = 1000 is the limit.
        let line = "NOOP " + String(repeating: "x", count: testCase.0 - 5) + "\r\n"
        for chunkSize in [0, 1, 7] {
            let driver = transcript([.client(line + "NOOP\r\n")], chunkSize: chunkSize)
            #expect(driver.codes == [testCase.1, "250 2.0.0"], "chunk \(chunkSize)")
        }
    }

    @Test func overlongLineIsNotBuffered() {
        var session = SMTPServerSession(policy: makePolicy())
        _ = session.receive(bytes(String(repeating: "A", count: 100_000)))
        #expect(session.lineBuffer.count <= 12_288)
        _ = session.receive(bytes(String(repeating: "A", count: 100_000)))
        #expect(session.lineBuffer.isEmpty)
        #expect(session.discardingLongLine)
    }

    @Test func authLinesMayBeLonger() {
        let long = "AUTH PLAIN " + base64(String(repeating: "x", count: 3_000))
        let driver = transcript([.client("EHLO c\r\n" + long + "\r\n")])
        #expect(driver.codes.last == "535 5.7.8")
    }

    @Test func longTextLineInDataIsRefusedAtTheEnd() {
        let body = "From: alice@example.test\r\n\r\n" + String(repeating: "y", count: 999) + "\r\n"
        let driver = transcript([.client(open + body + ".\r\nNOOP\r\n")])
        #expect(driver.codes.suffix(2) == ["550 5.6.0", "250 2.0.0"])
        let fits = transcript([.client(open + "From: alice@example.test\r\n\r\n" + String(repeating: "y", count: 998) + "\r\n.\r\n")])
        #expect(fits.commits.count == 1)
    }

    static let nulLines: [String] = ["NOOP\u{0}", "\u{0}", "MAIL FROM:<a\u{0}@example.test>", "EHLO a\u{0}b", "NOOP\rHELP"]

    @Test(arguments: nulLines)
    func nulAndBareCRInCommands(_ line: String) {
        let driver = transcript([.client(authPrelude + line + "\r\nNOOP\r\n")])
        #expect(driver.codes.suffix(2) == ["501 5.5.2", "250 2.0.0"])
    }
}

@Suite struct JunkLimitTests {
    @Test func junkBeyondTheLimitCloses() {
        let driver = transcript([.client("EHLO c\r\nXX\r\nYY\r\nZZ\r\nWW\r\nNOOP\r\n")], policy: makePolicy(maxJunk: 3))
        #expect(driver.codes == ["250", "500 5.5.2", "500 5.5.2", "500 5.5.2", "500 5.5.2", "421 4.7.0"])
        #expect(driver.actions.last == .close)
    }

    @Test func failedLoginsCountAsJunk() {
        let bad = "AUTH PLAIN \(base64("\u{0}alice\u{0}wrong"))\r\n"
        let driver = transcript([.client("EHLO c\r\n" + String(repeating: bad, count: 3))], policy: makePolicy(maxJunk: 2))
        #expect(driver.codes == ["250", "535 5.7.8", "535 5.7.8", "535 5.7.8", "421 4.7.0"])
    }

    @Test func errorsAfterASuccessfulMailDoNotCount() {
        let text = authPrelude + "MAIL FROM:<alice@example.test>\r\n" + String(repeating: "XX\r\n", count: 50) + "NOOP\r\n"
        let driver = transcript([.client(text)], policy: makePolicy(maxJunk: 3))
        #expect(driver.codes.last == "250 2.0.0")
        #expect(!driver.closed)
    }

    static let httpVerbs = ["GET / HTTP/1.0", "POST /x HTTP/1.1", "CONNECT host:25 HTTP/1.1", "get /"]

    @Test(arguments: httpVerbs)
    func httpRequestsEndTheSession(_ line: String) {
        let driver = transcript([.client(line + "\r\nHost: x\r\n")])
        #expect(driver.codes == ["421 4.7.0"])
    }
}
