// Mail transactions end to end through the session: successful DATA, envelope contents from
// MAIL/RCPT parameters, address syntax and send-as refusals, recipient limits, SIZE, From: checks,
// commit failure and pipelined commands held while the commit is pending.

import Testing
import MailCore
@testable import SMTPProtocol

private let mailFrom = "MAIL FROM:<alice@example.test>\r\n"
private let rcptBob = "RCPT TO:<bob@example.org>\r\n"

@Suite struct TransactionTests {
    @Test func successfulSubmissionCommitsAndRepliesWithQueueID() {
        let driver = transcript([.client(authPrelude + mailFrom + rcptBob + "DATA\r\n" + simpleMessage + ".\r\nQUIT\r\n")])
        #expect(driver.codes == ["250", "235 2.7.0", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "221 2.0.0"])
        #expect(driver.replies[5] == "250 2.0.0 Ok: queued as Q1")
        #expect(driver.commits.count == 1)
        #expect(driver.commits.first?.message == bytes(simpleMessage))
        #expect(driver.commits.first?.envelope.sender == MailboxAddress(localPart: "alice", domain: "example.test"))
        #expect(driver.commits.first?.envelope.recipients.map(\.address.description) == ["bob@example.org"])
        #expect(driver.commits.first?.envelope.authenticated == true)
        #expect(driver.commits.first?.envelope.user == alice)
    }

    @Test func emptyMessageEndsAtOnce() {
        // The CRLF of the DATA line is the first CRLF of CRLF.CRLF; no From: so it is refused.
        let driver = transcript([.client(authPrelude + mailFrom + rcptBob + "DATA\r\n.\r\n")])
        #expect(driver.codes.last == "550 5.6.0")
    }

    @Test func dotUnstuffing() {
        let body = "From: alice@example.test\r\n\r\n..leading dot\r\n...\r\n. \r\n"
        let driver = transcript([.client(authPrelude + mailFrom + rcptBob + "DATA\r\n" + body + ".\r\n")])
        #expect(driver.commits.first?.message == bytes("From: alice@example.test\r\n\r\n.leading dot\r\n..\r\n \r\n"))
    }

    @Test func envelopeParametersReachTheCommit() {
        let mail = "MAIL FROM:<alice@example.test> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef MT-PRIORITY=-3 HOLDFOR=60 AUTH=<>\r\n"
        let rcpt = "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.org\r\n"
        let driver = transcript([.client(authPrelude + mail + rcpt + "RCPT TO:<carol@example.org> NOTIFY=NEVER\r\nDATA\r\n" + simpleMessage + ".\r\n")])
        guard let envelope = driver.commits.first?.envelope else {
            Issue.record("no commit: \(driver.replies)")
            return
        }
        #expect(envelope.declaredSize == 100)
        #expect(envelope.body == .eightBitMIME)
        #expect(envelope.dsnReturn == .headers)
        #expect(envelope.envelopeID == "abc+def")
        #expect(envelope.mtPriority == -3)
        #expect(envelope.notBefore == fixedNow + 60)
        #expect(envelope.recipients.first?.notify == .on([.success, .failure]))
        #expect(envelope.recipients.first?.originalRecipientType == "rfc822")
        #expect(envelope.recipients.first?.originalRecipientAddress == "bob@example.org")
        #expect(envelope.recipients.last?.notify == .never)
        #expect(envelope.heloName == "client.test")
        #expect(envelope.extendedHello)
        #expect(envelope.overTLS)
        #expect(!envelope.chunked)
    }

    @Test func holdUntilSetsNotBefore() {
        let driver = transcript([.client(authPrelude + "MAIL FROM:<alice@example.test> HOLDUNTIL=2023-11-15T00:00:00+01:00\r\n" + rcptBob + "DATA\r\n" + simpleMessage + ".\r\n")])
        #expect(driver.commits.first?.envelope.notBefore == 1_700_002_800)
    }

    @Test func holdUntilInThePastMeansNow() {
        let driver = transcript([.client(authPrelude + "MAIL FROM:<alice@example.test> HOLDUNTIL=2001-01-01T00:00:00Z\r\n" + rcptBob + "DATA\r\n" + simpleMessage + ".\r\n")])
        #expect(driver.commits.first?.envelope.notBefore == fixedNow)
    }

    static let mailCases: [(String, String)] = [
        ("MAIL FROM:<alice@example.test>", "250 2.1.0"),
        ("mail from:<alice@example.test>", "250 2.1.0"),
        ("MAIL FROM: <alice@example.test>", "250 2.1.0"),
        ("MAIL FROM:<alice@EXAMPLE.Test>", "250 2.1.0"),
        ("MAIL FROM:<anyone@sales.example.test>", "250 2.1.0"),
        ("MAIL FROM:<@relay.test,@other.test:alice@example.test>", "250 2.1.0"),
        ("MAIL FROM:<\"alice\"@example.test>", "250 2.1.0"),
        ("MAIL FROM:<ALICE@example.test>", "553 5.7.1"),
        ("MAIL FROM:<mallory@example.test>", "553 5.7.1"),
        ("MAIL FROM:<alice@example.test.evil>", "553 5.7.1"),
        ("MAIL FROM:<>", "553 5.7.1"),
        ("MAIL FROM:alice@example.test", "501 5.1.7"),
        ("MAIL FROM:<alice@example.test", "501 5.1.7"),
        ("MAIL FROM:<alice@example.test>x", "501 5.1.7"),
        ("MAIL FROM:<alice>", "501 5.1.7"),
        ("MAIL FROM:<alice@>", "501 5.1.7"),
        ("MAIL FROM:<alice@-bad.test>", "501 5.1.7"),
        ("MAIL FROM:<al..ice@example.test>", "501 5.1.7"),
        ("MAIL FROM:<\"unterminated@example.test>", "501 5.1.7"),
        ("MAIL FROM:<" + String(repeating: "a", count: 600) + "@example.test>", "501 5.1.3"),
        ("MAIL FROM:<" + String(repeating: "a", count: 65) + "@example.test>", "501 5.1.3"),
        ("MAIL FROM:<alice@" + String(repeating: "a.", count: 130) + "test>", "501 5.1.3"),
        ("MAIL FROM <alice@example.test>", "501 5.5.4"),
        ("MAIL TO:<alice@example.test>", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> FOO=bar", "555 5.5.4"),
        ("MAIL FROM:<alice@example.test> BODY=BINARYMIME", "555 5.5.4"),
        ("MAIL FROM:<alice@example.test> SIZE=10 SIZE=10", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> SIZE=ten", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> SIZE=10001", "552 5.3.4"),
        ("MAIL FROM:<alice@example.test> SIZE=99999999999999999999999999", "552 5.3.4"),
        ("MAIL FROM:<alice@example.test> SIZE=10000", "250 2.1.0"),
        ("MAIL FROM:<alice@example.test> MT-PRIORITY=9", "250 2.1.0"),
        ("MAIL FROM:<alice@example.test> MT-PRIORITY=-9", "250 2.1.0"),
        ("MAIL FROM:<alice@example.test> MT-PRIORITY=10", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> MT-PRIORITY=x", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> HOLDFOR=604800", "250 2.1.0"),
        ("MAIL FROM:<alice@example.test> HOLDFOR=604801", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> HOLDFOR=99999999999999999999999", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> HOLDUNTIL=2023-11-21T22:13:20Z", "250 2.1.0"),
        ("MAIL FROM:<alice@example.test> HOLDUNTIL=2023-11-21T22:13:21Z", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> HOLDUNTIL=2023-02-30T00:00:00Z", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> HOLDFOR=10 HOLDUNTIL=2023-11-15T00:00:00Z", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> RET=ALL", "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> ENVID=" + String(repeating: "x", count: 101), "501 5.5.4"),
        ("MAIL FROM:<alice@example.test> SMTPUTF8=yes", "501 5.5.4"),
        ("MAIL FROM:<ålice@sales.example.test>", "553 5.6.7"),
        ("MAIL FROM:<ålice@sales.example.test> SMTPUTF8", "250 2.1.0"),
    ]

    @Test(arguments: mailCases)
    func mailCommand(_ testCase: (String, String)) {
        let driver = transcript([.client(authPrelude + testCase.0 + "\r\n")])
        #expect(driver.codes.last == testCase.1)
    }

    @Test func invalidUTF8AddressIsASyntaxError() {
        let line = bytes("MAIL FROM:<") + [0xC3, 0x28] + bytes("@sales.example.test> SMTPUTF8\r\n")
        let driver = transcript([.client(authPrelude), .clientBytes(line)])
        #expect(driver.codes.last == "501 5.1.7")
    }

    static let rcptCases: [(String, String)] = [
        ("RCPT TO:<bob@example.org>", "250 2.1.5"),
        ("RCPT TO:<\"john doe\"@example.org>", "250 2.1.5"),
        ("RCPT TO:<\"john\\\"q\"@example.org>", "250 2.1.5"),
        ("RCPT TO:<bob@[192.0.2.1]>", "250 2.1.5"),
        ("RCPT TO:<>", "501 5.1.3"),
        ("RCPT TO:<Postmaster>", "501 5.1.3"),
        ("RCPT TO:bob@example.org", "501 5.1.3"),
        ("RCPT TO:<bob@example.org> NOTIFY=NEVER,SUCCESS", "501 5.5.4"),
        ("RCPT TO:<bob@example.org> NOTIFY=sometimes", "501 5.5.4"),
        ("RCPT TO:<bob@example.org> ORCPT=rfc822", "501 5.5.4"),
        ("RCPT TO:<bob@example.org> ORCPT=rfc822;bob+4", "501 5.5.4"),
        ("RCPT TO:<bob@example.org> XFOO", "555 5.5.4"),
        ("RCPT TO:<bøb@example.org>", "553 5.6.7"),
        ("RCPT TO:<bob@exämple.org>", "553 5.6.7"),
        ("RCPT TO:<" + String(repeating: "b", count: 300) + "@example.org>", "501 5.1.3"),
        ("RCPT FROM:<bob@example.org>", "501 5.5.4"),
    ]

    @Test(arguments: rcptCases)
    func rcptCommand(_ testCase: (String, String)) {
        let driver = transcript([.client(authPrelude + mailFrom + testCase.0 + "\r\n")])
        #expect(driver.codes.last == testCase.1)
    }

    @Test func utf8RecipientAcceptedWithSMTPUTF8() {
        let driver = transcript([.client(authPrelude + "MAIL FROM:<alice@example.test> SMTPUTF8\r\nRCPT TO:<bøb@exämple.org>\r\n")])
        #expect(driver.codes.last == "250 2.1.5")
    }

    @Test func quotedLocalPartKeptForRelay() {
        let driver = transcript([.client(authPrelude + mailFrom + "RCPT TO:<\"john doe\"@example.org>\r\nRCPT TO:<\"plain\"@example.org>\r\nDATA\r\n" + simpleMessage + ".\r\n")])
        #expect(driver.commits.first?.envelope.recipients.map(\.address.description) == ["\"john doe\"@example.org", "plain@example.org"])
    }

    @Test func tenThousandRecipientsHitTheLimitAndTheSessionSurvives() {
        var text = authPrelude + mailFrom
        for number in 0..<10_000 { text += "RCPT TO:<user\(number)@example.org>\r\n" }
        text += "DATA\r\n" + simpleMessage + ".\r\nNOOP\r\n"
        let driver = transcript([.client(text)])
        let rcptCodes = driver.codes.dropFirst(3).prefix(10_000)
        #expect(rcptCodes.filter { $0 == "250 2.1.5" }.count == 100)
        #expect(rcptCodes.filter { $0 == "452 4.5.3" }.count == 9_900)
        #expect(driver.commits.first?.envelope.recipients.count == 100)
        #expect(driver.codes.suffix(3) == ["354", "250 2.0.0", "250 2.0.0"])
        #expect(!driver.closed)
    }

    @Test func duplicateRecipientsAreStoredOnce() {
        let driver = transcript([.client(authPrelude + mailFrom + rcptBob + "RCPT TO:<bob@EXAMPLE.org>\r\nDATA\r\n" + simpleMessage + ".\r\n")])
        #expect(driver.commits.first?.envelope.recipients.count == 1)
    }

    @Test func oversizedDataIsDrainedAndRefused() {
        let big = simpleMessage + String(repeating: "0123456789012345678901234567890123456789\r\n", count: 1_000)
        var driver = SessionDriver()
        driver.run([.client(authPrelude + mailFrom + rcptBob + "DATA\r\n" + big)], chunkSize: 4096)
        #expect((driver.session.dataReceiver?.message.count ?? -1) == 0)
        driver.run([.client(".\r\nNOOP\r\n")])
        #expect(driver.codes.suffix(2) == ["552 5.3.4", "250 2.0.0"])
        #expect(driver.commits.isEmpty)
    }

    @Test func messageAtExactlyTheLimitIsAccepted() {
        // 26 header bytes + 99 lines of 100 bytes + one line of 74 bytes = 10,000 octets.
        let line = String(repeating: "x", count: 98) + "\r\n"
        let message = "From: alice@example.test\r\n" + String(repeating: line, count: 99) + String(repeating: "y", count: 72) + "\r\n"
        let driver = transcript([.client(authPrelude + mailFrom + rcptBob + "DATA\r\n" + message + ".\r\n")])
        #expect(bytes(message).count == 10_000)
        #expect(driver.commits.count == 1)
        let over = transcript([.client(authPrelude + mailFrom + rcptBob + "DATA\r\n" + message + "z\r\n.\r\n")])
        #expect(over.codes.last == "552 5.3.4")
    }

    static let fromCases: [(String, String)] = [
        ("From: Alice <alice@example.test>", "250 2.0.0"),
        ("From: alice@example.test", "250 2.0.0"),
        ("FROM: \"Smith, Alice\" <alice@example.test>", "250 2.0.0"),
        ("From: alice@example.test (Alice Smith)", "250 2.0.0"),
        ("From: Alice\r\n <alice@example.test>", "250 2.0.0"),
        ("From: a@sales.example.test, b@sales.example.test", "250 2.0.0"),
        ("From: team: a@sales.example.test, alice@example.test;", "250 2.0.0"),
        ("From: =?utf-8?q?Al=C3=AFce?= <alice@example.test>", "250 2.0.0"),
        ("From: Mallory <mallory@example.test>", "553 5.7.1"),
        ("From: alice@example.test, mallory@evil.test", "553 5.7.1"),
        ("From: \"alice@example.test\" <mallory@evil.test>", "553 5.7.1"),
        ("From: team: mallory@evil.test;", "553 5.7.1"),
        ("X-Other: 1", "550 5.6.0"),
        ("From: alice@example.test\r\nFrom: alice@example.test", "550 5.6.0"),
        ("From: <alice@example.test", "550 5.6.0"),
        ("From: (unclosed comment alice@example.test", "550 5.6.0"),
        ("From: undisclosed:;", "550 5.6.0"),
    ]

    @Test(arguments: fromCases)
    func fromHeaderIsCheckedAgainstSendAs(_ testCase: (String, String)) {
        let message = testCase.0 + "\r\nSubject: x\r\n\r\nbody\r\n"
        let driver = transcript([.client(authPrelude + mailFrom + rcptBob + "DATA\r\n" + message + ".\r\n")])
        #expect(driver.codes.last == testCase.1)
        #expect(driver.commits.count == (testCase.1 == "250 2.0.0" ? 1 : 0))
    }

    @Test func refusalsAreLoggedWithTheirReply() {
        let driver = transcript([.client(authPrelude + "MAIL FROM:<mallory@example.test>\r\n")])
        let logged = driver.actions.compactMap { action -> SMTPReply? in
            if case .log(.refused(_, let reply)) = action { return reply }
            return nil
        }
        #expect(logged.map(\.code) == [553])
        #expect(driver.actions.contains(.log(.authenticated(user: "alice", mechanism: .plain))))
    }

    @Test func commitFailureIsTemporaryAndTheSessionGoesOn() {
        let driver = transcript([.client(authPrelude + mailFrom + rcptBob + "DATA\r\n" + simpleMessage + ".\r\n" + mailFrom)],
                                commitFails: true)
        #expect(driver.codes.suffix(2) == ["451 4.3.0", "250 2.1.0"])
        #expect(driver.actions.contains(.log(.commitFailed(reason: "disk full"))))
    }

    @Test func pipelinedCommandsWaitForTheCommit() {
        var session = SMTPServerSession(policy: makePolicy())
        var driver = SessionDriver()
        driver.run([.client(authPrelude)])
        session = driver.session
        let first = session.receive(bytes(mailFrom + rcptBob + "DATA\r\n"))
        #expect(first.count == 3)
        let second = session.receive(bytes(simpleMessage + ".\r\nNOOP\r\n"))
        #expect(second.count == 1)
        #expect(session.isAwaitingEvent)
        let more = session.receive(bytes("HELP\r\n"))
        #expect(more.isEmpty)
        let after = session.messageCommitted(queueID: "ABC")
        #expect(after == [.send(bytes("250 2.0.0 Ok: queued as ABC\r\n")),
                          .send(bytes("250 2.0.0 Ok\r\n")),
                          .send(SMTPReply.help.bytes)])
    }

    @Test func trustedNetworkSubmitsWithoutAuthOrTLS() {
        let driver = transcript([.client("EHLO app\r\nMAIL FROM:<crm@example.test>\r\n" + rcptBob + "DATA\r\nFrom: crm@example.test\r\n\r\nhi\r\n.\r\n")],
                                policy: makePolicy(implicitTLS: false, trusted: appUser))
        #expect(driver.commits.first?.envelope.authenticated == false)
        #expect(driver.commits.first?.envelope.user == appUser)
        #expect(driver.commits.first?.envelope.overTLS == false)
    }

    @Test func plaintextOnlyListenerStillRequiresAuthentication() {
        let driver = transcript([.client("EHLO c\r\nMAIL FROM:<alice@example.test>\r\n")],
                                policy: makePolicy(implicitTLS: false, tlsAvailable: false))
        #expect(driver.codes.last == "530 5.7.0")
        #expect(!driver.replyLines.contains("250-STARTTLS"))
    }

    @Test func heloSessionGetsPlainSMTP() {
        let driver = transcript([.client("HELO app\r\nMAIL FROM:<crm@example.test>\r\n" + rcptBob + "DATA\r\nFrom: crm@example.test\r\n\r\nhi\r\n.\r\n")],
                                policy: makePolicy(trusted: appUser))
        #expect(driver.commits.first?.envelope.extendedHello == false)
        #expect(driver.replies.first == "250 mx.example.test")
    }
}
