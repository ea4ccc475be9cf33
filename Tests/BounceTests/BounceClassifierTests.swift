// Classifier tests on small synthetic messages, one per supported format:
// RFC 3464 DSNs (failed, delayed, delivered), RFC 5965 and JMRP complaints,
// auto-replies, Amazon SES JSON, and the text formats of qmail, Exim,
// Sendmail, Postfix, Exchange, Gmail, Yahoo, Courier and DragonFly. Written
// from the published formats, not copied from the corpus.
import Bounce
import Testing

struct BounceCase: CustomTestStringConvertible, Sendable {
    let name: String
    let message: String
    let isBounce: Bool
    let recipient: String?
    let status: String?
    let kind: BounceKind?
    let reason: BounceReason?
    var testDescription: String { name }
}

func dsn(recipient: String, action: String, status: String, diagnostic: String, original: String = "") -> String {
    """
    From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
    To: sender@example.org
    Subject: Undelivered Mail Returned to Sender
    Content-Type: multipart/report; report-type=delivery-status; boundary="B"

    --B
    Content-Type: text/plain

    The mail system could not deliver your message.

    --B
    Content-Type: message/delivery-status

    Reporting-MTA: dns; mx.example.net

    Final-Recipient: rfc822; \(recipient)
    Action: \(action)
    Status: \(status)
    Diagnostic-Code: smtp; \(diagnostic)

    --B
    Content-Type: message/rfc822

    From: sender@example.org
    To: \(recipient)
    Message-ID: <orig-1@example.org>
    X-Mailgate-Queue-ID: Q123
    Subject: hello

    body
    --B--

    """
}

let bounceCases: [BounceCase] = [
    BounceCase(name: "RFC 3464 user unknown",
               message: dsn(recipient: "Gone@Example.COM", action: "failed", status: "5.1.1",
                            diagnostic: "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown"),
               isBounce: true, recipient: "gone@example.com", status: "5.1.1", kind: .hard, reason: .userUnknown),
    BounceCase(name: "RFC 3464 delayed",
               message: dsn(recipient: "slow@example.com", action: "delayed", status: "4.4.7",
                            diagnostic: "delivery temporarily suspended: connect to mx[192.0.2.1]:25: Connection timed out"),
               isBounce: true, recipient: "slow@example.com", status: "4.4.7", kind: .soft, reason: .expired),
    BounceCase(name: "RFC 3464 generic status refined by the diagnostic",
               message: dsn(recipient: "full@example.com", action: "failed", status: "5.0.0",
                            diagnostic: "552 5.2.2 Mailbox full"),
               isBounce: true, recipient: "full@example.com", status: "5.2.2", kind: .soft, reason: .mailboxFull),
    BounceCase(name: "RFC 3464 block list text beats a misleading 5.1.1",
               message: dsn(recipient: "x@example.com", action: "failed", status: "5.1.1",
                            diagnostic: "550 5.7.1 Service unavailable; client host [192.0.2.9] blocked using zen.spamhaus.org"),
               isBounce: true, recipient: "x@example.com", status: "5.7.1", kind: .soft, reason: .blocked),
    BounceCase(name: "RFC 3464 null MX",
               message: dsn(recipient: "n@nomail.example", action: "failed", status: "5.1.10",
                            diagnostic: "556 5.1.10 Recipient address has null MX"),
               isBounce: true, recipient: "n@nomail.example", status: "5.1.10", kind: .hard, reason: .notAccept),
    BounceCase(name: "RFC 3464 delivered is a receipt, not a bounce",
               message: dsn(recipient: "ok@example.com", action: "delivered", status: "2.0.0", diagnostic: "250 ok"),
               isBounce: false, recipient: "ok@example.com", status: "2.0.0", kind: nil, reason: .delivered),
    BounceCase(name: "RFC 5965 feedback report",
               message: """
               From: fbl@isp.example
               Subject: FW: complaint
               Content-Type: multipart/report; report-type=feedback-report; boundary="F"

               --F
               Content-Type: text/plain

               This is an abuse report.
               --F
               Content-Type: message/feedback-report

               Feedback-Type: abuse
               User-Agent: SomeGenerator/1.0
               Version: 1
               Original-Rcpt-To: <Angry@Example.net>

               --F
               Content-Type: text/rfc822-headers

               Message-ID: <orig-2@example.org>
               From: sender@example.org

               --F--

               """,
               isBounce: false, recipient: "angry@example.net", status: nil, kind: nil, reason: .feedback),
    BounceCase(name: "Microsoft JMRP complaint",
               message: """
               From: staff@hotmail.example
               Subject: complaint about message from 192.0.2.1
               Content-Type: multipart/mixed; boundary="J"

               --J
               Content-Type: message/rfc822

               X-HmXmrOriginalRecipient: reader@hotmail.example
               From: sender@example.org
               Message-ID: <orig-3@example.org>

               hi
               --J--

               """,
               isBounce: false, recipient: "reader@hotmail.example", status: nil, kind: nil, reason: .feedback),
    BounceCase(name: "RFC 3834 auto-reply",
               message: """
               From: Away Person <away@example.com>
               To: sender@example.org
               Auto-Submitted: auto-replied
               Subject: Re: hello

               I am on leave until Monday.
               """,
               isBounce: false, recipient: "away@example.com", status: nil, kind: nil, reason: .vacation),
    BounceCase(name: "Out of office by subject",
               message: """
               From: boss@example.com
               To: sender@example.org
               Subject: Out of Office: hello

               Back next week.
               """,
               isBounce: false, recipient: "boss@example.com", status: nil, kind: nil, reason: .vacation),
    BounceCase(name: "qmail",
               message: """
               From: MAILER-DAEMON@mail.example.net
               To: sender@example.org
               Subject: failure notice

               Hi. This is the qmail-send program at mail.example.net.
               I'm afraid I wasn't able to deliver your message to the following addresses.
               This is a permanent error; I've given up. Sorry it didn't work out.

               <nobody@example.com>:
               192.0.2.5 does not like recipient.
               Remote host said: 550 5.1.1 No such mailbox
               Giving up on 192.0.2.5.

               --- Below this line is a copy of the message.

               Return-Path: <sender@example.org>
               Message-ID: <orig-4@example.org>
               X-Mailgate-Queue-ID: Q4
               """,
               isBounce: true, recipient: "nobody@example.com", status: "5.1.1", kind: .hard, reason: .userUnknown),
    BounceCase(name: "Exim with X-Failed-Recipients",
               message: """
               From: Mail Delivery System <Mailer-Daemon@relay.example.net>
               To: sender@example.org
               Subject: Mail delivery failed: returning message to sender
               X-Failed-Recipients: quota@example.com

               This message was created automatically by mail delivery software.

               A message that you sent could not be delivered to one or more of its
               recipients. This is a permanent error. The following address(es) failed:

                 quota@example.com
                   host mx.example.com [192.0.2.7]
                   SMTP error from remote mail server after RCPT TO:<quota@example.com>:
                   452 4.2.2 The email account that you tried to reach is over quota

               ------ This is a copy of the message, including all the headers. ------

               Message-ID: <orig-5@example.org>
               """,
               isBounce: true, recipient: "quota@example.com", status: "4.2.2", kind: .soft, reason: .mailboxFull),
    BounceCase(name: "Sendmail transcript without DSN",
               message: """
               From: Mail Delivery Subsystem <MAILER-DAEMON@host.example.net>
               To: sender@example.org
               Subject: Returned mail: see transcript for details

               The original message was received at Mon, 1 Jan 2024 00:00:00 +0000
               from localhost [127.0.0.1]

                  ----- The following addresses had permanent fatal errors -----
               <who@example.com>

                  ----- Transcript of session follows -----
               ... while talking to mx.example.com.:
               >>> RCPT To:<who@example.com>
               <<< 550 5.1.1 <who@example.com>... User unknown
               550 5.1.1 <who@example.com>... User unknown
               """,
               isBounce: true, recipient: "who@example.com", status: "5.1.1", kind: .hard, reason: .userUnknown),
    BounceCase(name: "User unknown answered to DATA is a content filter",
               message: """
               From: Mail Delivery Subsystem <MAILER-DAEMON@host.example.net>
               To: sender@example.org
               Subject: Returned mail: see transcript for details

                  ----- Transcript of session follows -----
               ... while talking to mx.carrier.example.:
               >>> DATA
               <<< 550 Unknown user phone@carrier.example
               554 5.0.0 Service unavailable
               """,
               isBounce: true, recipient: "phone@carrier.example", status: "5.0.0", kind: .soft, reason: .filtered),
    BounceCase(name: "Postfix without DSN",
               message: """
               From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
               To: sender@example.org
               Subject: Undelivered Mail Returned to Sender

               This is the mail system at host mx.example.net.

               I'm sorry to have to inform you that your message could not
               be delivered to one or more recipients.

               <big@example.com>: host mx.example.com[192.0.2.3] said: 552 5.3.4 Message size
                   exceeds fixed limit (in reply to end of DATA command)
               """,
               isBounce: true, recipient: "big@example.com", status: "5.3.4", kind: .soft, reason: .mesgTooBig),
    BounceCase(name: "Exchange 2003",
               message: """
               From: System Administrator <postmaster@corp.example>
               To: sender@example.org
               Subject: Undeliverable: hello

               Your message

                 To:      old@corp.example
                 Subject: hello

               did not reach the following recipient(s):

               old@corp.example on Mon, 1 Jan 2024 00:00:00 +0000
                   The e-mail account does not exist at the organization this message was sent to.
                   <mail.corp.example #5.1.1>
               """,
               isBounce: true, recipient: "old@corp.example", status: "5.1.1", kind: .hard, reason: .userUnknown),
    BounceCase(name: "Gmail",
               message: """
               From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
               To: sender@example.org
               Subject: Delivery Status Notification (Failure)

               Delivery to the following recipient failed permanently:

                    missing@example.com

               Technical details of permanent failure:
               The email account that you tried to reach does not exist.

               ----- Original message -----

               Message-ID: <orig-6@example.org>
               """,
               isBounce: true, recipient: "missing@example.com", status: nil, kind: .hard, reason: .userUnknown),
    BounceCase(name: "Yahoo",
               message: """
               From: MAILER-DAEMON@yahoo.example
               To: sender@example.org
               Subject: Failure Notice

               Sorry, we were unable to deliver your message to the following address.

               <closed@example.com>:
               Remote host said: 554 delivery error: This account has been disabled or discontinued [#102]

               --- Below this line is a copy of the message.
               """,
               isBounce: true, recipient: "closed@example.com", status: "5.0.0", kind: .soft, reason: .suspend),
    BounceCase(name: "Courier",
               message: """
               From: Courier mail server at mx.example.net <@>
               To: sender@example.org
               Subject: NOTICE: mail delivery status.

               This is a delivery status notification from mx.example.net,
               running the Courier mail server.

               The original message was received on Mon, 1 Jan 2024 from localhost.

                                   UNDELIVERABLE MAIL

               Your message to the following recipients cannot be delivered:

               <nohost@unknown-domain.example>:
                   No such domain.
               """,
               isBounce: true, recipient: "nohost@unknown-domain.example", status: nil, kind: .hard, reason: .hostUnknown),
    BounceCase(name: "DragonFly Mail Agent",
               message: """
               From: MAILER-DAEMON <>
               To: sender@example.org
               Subject: Mail delivery failed

               This is the DragonFly Mail Agent v0.13 at host.example.

               There was an error delivering your mail to <moved@example.com>.

               mx.example.com [192.0.2.1] did not like our RCPT TO:
               550 5.1.6 Recipient has moved; new address unknown

               Message headers follow.
               """,
               isBounce: true, recipient: "moved@example.com", status: "5.1.6", kind: .hard, reason: .hasMoved),
    BounceCase(name: "Amazon SES bounce notification",
               message: """
               From: no-reply@sns.amazonaws.com
               Subject: AWS Notification Message

               {"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
               "bouncedRecipients":[{"emailAddress":"ses-gone@example.com","action":"failed","status":"5.1.1",
               "diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},"mail":{"messageId":"x"}}
               """,
               isBounce: true, recipient: "ses-gone@example.com", status: "5.1.1", kind: .hard, reason: .userUnknown),
    BounceCase(name: "Amazon SES complaint notification",
               message: """
               From: no-reply@sns.amazonaws.com
               Subject: AWS Notification Message

               {"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"c@example.com"}],
               "complaintFeedbackType":"abuse"}}
               """,
               isBounce: false, recipient: "c@example.com", status: nil, kind: nil, reason: .feedback),
    BounceCase(name: "RFC 8098 read receipt",
               message: """
               From: reader@example.com
               To: sender@example.org
               Subject: Read: hello
               Content-Type: multipart/report; report-type=disposition-notification; boundary="M"

               --M
               Content-Type: text/plain

               Your message was displayed.
               --M
               Content-Type: message/disposition-notification

               Final-Recipient: rfc822; reader@example.com
               Disposition: manual-action/MDN-sent-manually; displayed

               --M--

               """,
               isBounce: false, recipient: "reader@example.com", status: nil, kind: nil, reason: .delivered),
    BounceCase(name: "Ordinary mail is not a bounce",
               message: """
               From: friend@example.com
               To: sender@example.org
               Subject: lunch?

               Shall we meet at noon? Write to other@example.com if not.
               """,
               isBounce: false, recipient: nil, status: nil, kind: nil, reason: nil),
]

@Test(arguments: bounceCases)
func classifiesSyntheticBounce(_ testCase: BounceCase) {
    let report = BounceClassifier.classify(Array(testCase.message.utf8))
    let first = report.recipients.first
    #expect(report.isBounce == testCase.isBounce)
    #expect(first?.recipient == testCase.recipient)
    #expect(first?.status == testCase.status)
    #expect(first?.kind == testCase.kind)
    #expect(first?.reason == testCase.reason)
}

@Test func originalMessageIDAndQueueIDComeFromTheReturnedMessage() {
    let report = BounceClassifier.classify(Array(dsn(recipient: "a@example.com", action: "failed", status: "5.1.1",
                                                     diagnostic: "550 unknown").utf8))
    #expect(report.originalMessageID == "<orig-1@example.org>")
    #expect(report.queueID == "Q123")
}

@Test func queueIDFromInlineReturnedHeaders() {
    let report = BounceClassifier.classify(Array(bounceCases[10].message.utf8))
    #expect(report.originalMessageID == "<orig-4@example.org>")
    #expect(report.queueID == "Q4")
}

@Test func multipleRecipientsEachGetTheirOwnDiagnosis() {
    let message = """
    From: Mail Delivery Subsystem <MAILER-DAEMON@host.example.net>
    To: sender@example.org
    Subject: Returned mail: User unknown

       ----- Transcript of session follows -----
    550 5.1.1 <one@example.com>... User unknown
    552 5.2.2 <two@example.com>... Mailbox full
    550 5.1.2 <three@nowhere.example>... Host unknown (Name server: nowhere.example: host not found)
    """
    let report = BounceClassifier.classify(Array(message.utf8))
    #expect(report.recipients.map(\.recipient) == ["one@example.com", "two@example.com", "three@nowhere.example"])
    #expect(report.recipients.map(\.reason) == [.userUnknown, .mailboxFull, .hostUnknown])
    #expect(report.recipients.map(\.status) == ["5.1.1", "5.2.2", "5.1.2"])
}

/// Random bytes and random cuts of real-looking bounces never crash the classifier.
@Test func hostileInputNeverCrashes() {
    var generator = SplitMix(seed: 7)
    let seeds = bounceCases.map { Array($0.message.utf8) }
    for round in 0..<400 {
        var input = seeds[round % seeds.count]
        let cuts = Int(generator.next() % 8)
        for _ in 0..<cuts where !input.isEmpty {
            let position = Int(generator.next() % UInt64(input.count))
            input[position] = UInt8(truncatingIfNeeded: generator.next())
        }
        if generator.next() % 2 == 0, !input.isEmpty { input = Array(input[..<Int(generator.next() % UInt64(input.count))]) }
        let report = BounceClassifier.classify(input)
        #expect(report.recipients.allSatisfy { !$0.recipient.isEmpty })
    }
}
