// BDAT (RFC 3030) with right and wrong sizes, drained refusals and the DATA/BDAT mix; AUTH framing
// (RFC 4954): PLAIN and LOGIN, initial responses, "=" for empty, "*" cancel, broken base64.

import Testing
import MailCore
@testable import SMTPProtocol

private let ready = authPrelude + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.org>\r\n"

private func bdat(_ content: String, last: Bool = true) -> String {
    "BDAT \(content.utf8.count)\(last ? " LAST" : "")\r\n" + content
}

@Suite struct BDATTests {
    @Test func chunksAreJoinedAndCommitted() {
        let parts = ["From: alice@example.test\r\n", "Subject: x\r\n\r\n", "body\r\n"]
        let driver = transcript([.client(ready + bdat(parts[0], last: false) + bdat(parts[1], last: false) + bdat(parts[2]))])
        #expect(driver.codes.suffix(3) == ["250 2.0.0", "250 2.0.0", "250 2.0.0"])
        #expect(driver.replies.suffix(3).first == "250 2.0.0 Ok: 26 octets received")
        #expect(driver.commits.first?.message == bytes(parts.joined()))
        #expect(driver.commits.first?.envelope.chunked == true)
    }

    @Test func chunkContentIsNeverACommand() {
        // The chunk holds command-looking text; it must end up in the message, not run.
        let content = "From: alice@example.test\r\n\r\nRSET\r\nQUIT\r\n"
        let driver = transcript([.client(ready + bdat(content) + "NOOP\r\n")])
        #expect(driver.commits.first?.message == bytes(content))
        #expect(driver.codes.suffix(2) == ["250 2.0.0", "250 2.0.0"])
    }

    @Test func zeroLastEndsTheMessage() {
        let driver = transcript([.client(ready + bdat(simpleMessage, last: false) + "BDAT 0 LAST\r\n")])
        #expect(driver.commits.first?.message == bytes(simpleMessage))
    }

    @Test func declaredSizeSmallerThanSentLeavesTheRestAsCommands() {
        let driver = transcript([.client(ready + "BDAT 5\r\n0123456789\r\n")])
        #expect(driver.codes.suffix(2) == ["250 2.0.0", "500 5.5.2"])
    }

    @Test func declaredSizeLargerThanSentWaits() {
        let driver = transcript([.client(ready + "BDAT 100 LAST\r\n" + simpleMessage)])
        #expect(driver.codes.last == "250 2.1.5")
        #expect(driver.session.mode == .chunk(remaining: 100 - simpleMessage.utf8.count, size: 100, last: true, accepted: true))
    }

    static let badSizes = ["BDAT", "BDAT -1", "BDAT 1x", "BDAT 10 LAST extra", "BDAT 99999999999999999999", "BDAT 10 FIRST", "BDAT  "]

    @Test(arguments: badSizes)
    func unreadableSizeClosesTheSession(_ command: String) {
        let driver = transcript([.client(ready + command + "\r\nNOOP\r\n")])
        #expect(driver.codes.last == "421 4.5.4")
        #expect(driver.actions.last == .close)
    }

    @Test func overLimitChunksAreDrainedThenLaterChunksRefused() {
        let big = String(repeating: "0123456789\r\n", count: 900)  // 10,800 > 10,000
        let driver = transcript([.client(ready + bdat(big, last: false) + bdat("more", last: true) + "NOOP\r\n")])
        #expect(driver.codes.suffix(3) == ["552 5.3.4", "503 5.5.1", "250 2.0.0"])
        #expect(driver.commits.isEmpty)
    }

    @Test func refusedChunkIsDrainedNotExecuted() {
        let driver = transcript([.client(authPrelude + bdat("QUIT\r\n") + "NOOP\r\n")])
        #expect(driver.codes.suffix(2) == ["503 5.5.1", "250 2.0.0"])
        #expect(!driver.closed)
    }

    @Test func dataAfterBDATIsRefused() {
        let driver = transcript([.client(ready + bdat("From: a", last: false) + "DATA\r\n")])
        #expect(driver.codes.last == "503 5.5.1")
    }

    @Test func bareLineEndsInChunksAreRefused() {
        for content in ["From: alice@example.test\n\nbody", "From: alice@example.test\r\n\r\nbody\r", "From: alice@example.test\r\n\r\na\rb"] {
            let driver = transcript([.client(ready + bdat(content))])
            #expect(driver.codes.last == "550 5.6.0", "\(content.debugDescription)")
        }
    }

    @Test func crlfSplitAcrossChunksIsFine() {
        let driver = transcript([.client(ready + bdat("From: alice@example.test\r", last: false) + bdat("\n\r\nbody\r\n"))])
        #expect(driver.commits.count == 1)
    }
}

@Suite struct AuthTests {
    static let cases: [(name: String, lines: String, expected: [String])] = [
        ("plain initial", "AUTH PLAIN \(plainAlice)", ["235 2.7.0"]),
        ("plain lower-case mechanism", "auth plain \(plainAlice)", ["235 2.7.0"]),
        ("plain without initial", "AUTH PLAIN\r\n\(plainAlice)", ["334", "235 2.7.0"]),
        ("plain wrong password", "AUTH PLAIN \(base64("\u{0}alice\u{0}nope"))", ["535 5.7.8"]),
        ("plain empty initial", "AUTH PLAIN =", ["535 5.7.8"]),
        ("broken base64 initial", "AUTH PLAIN AGFsaWNl!!!", ["501 5.5.2"]),
        ("bad padding", "AUTH PLAIN AGFsaWNlAHNlY3JldA=", ["501 5.5.2"]),
        ("cancel", "AUTH PLAIN\r\n*", ["334", "501 5.7.0"]),
        ("broken base64 response", "AUTH PLAIN\r\n%%%%", ["334", "501 5.5.2"]),
        ("login", "AUTH LOGIN\r\n\(base64("alice"))\r\n\(base64("secret"))", ["334", "334", "235 2.7.0"]),
        ("login initial user", "AUTH LOGIN \(base64("alice"))\r\n\(base64("secret"))", ["334", "235 2.7.0"]),
        ("login wrong", "AUTH LOGIN\r\n\(base64("alice"))\r\n\(base64("x"))", ["334", "334", "535 5.7.8"]),
        ("login cancel", "AUTH LOGIN\r\n\(base64("alice"))\r\n*", ["334", "334", "501 5.7.0"]),
        ("unknown mechanism", "AUTH XOAUTH2 abc", ["504 5.5.4"]),
        ("no mechanism", "AUTH", ["501 5.5.4"]),
        ("too many words", "AUTH PLAIN a b", ["501 5.5.4"]),
    ]

    @Test(arguments: cases)
    func exchange(_ testCase: (name: String, lines: String, expected: [String])) {
        let driver = transcript([.client("EHLO c\r\n" + testCase.lines + "\r\n")])
        #expect(Array(driver.codes.dropFirst()) == testCase.expected, "\(testCase.name)")
    }

    @Test func loginChallengesAreBase64() {
        let driver = transcript([.client("EHLO c\r\nAUTH LOGIN\r\n")])
        #expect(driver.replies.last == "334 VXNlcm5hbWU6")
    }

    @Test func cancelTellsTheDriver() {
        let driver = transcript([.client("EHLO c\r\nAUTH PLAIN\r\n*\r\n")])
        #expect(driver.actions.contains(.authenticationCancelled))
    }

    @Test func initialResponseIsDecodedForTheDriver() {
        var session = SMTPServerSession(policy: makePolicy())
        _ = session.receive(bytes("EHLO c\r\n"))
        #expect(session.receive(bytes("AUTH PLAIN =\r\n")) == [.authenticate(mechanism: .plain, initialResponse: [])])
        #expect(session.isAwaitingEvent)
    }

    @Test func temporaryFailureIs454() {
        var session = SMTPServerSession(policy: makePolicy())
        _ = session.receive(bytes("EHLO c\r\nAUTH PLAIN \(plainAlice)\r\n"))
        let actions = session.authenticationFinished(.temporaryFailure)
        #expect(actions.contains(.send(SMTPReply.authTemporaryFailure.bytes)))
        #expect(session.authenticatedUser == nil)
    }

    @Test func pipelinedMailAfterAuthWaitsForTheResult() {
        var session = SMTPServerSession(policy: makePolicy())
        _ = session.receive(bytes("EHLO c\r\n"))
        let first = session.receive(bytes("AUTH PLAIN \(plainAlice)\r\nMAIL FROM:<alice@example.test>\r\n"))
        #expect(first == [.authenticate(mechanism: .plain, initialResponse: bytes("\u{0}alice\u{0}secret"))])
        let second = session.authenticationFinished(.success(user: alice))
        #expect(second.suffix(2) == [.send(SMTPReply.authSucceeded.bytes), .send(SMTPReply.senderOk.bytes)])
    }

    @Test func unexpectedEventsAreIgnored() {
        var session = SMTPServerSession(policy: makePolicy())
        #expect(session.authenticationFinished(.success(user: alice)).isEmpty)
        #expect(session.authenticatedUser == nil)
        #expect(session.messageCommitFailed("x").isEmpty)
    }
}
