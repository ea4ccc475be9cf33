// Unit tests for the pieces under the classifier: status/text -> reason
// rules, reason -> hard/soft, the SMTP command scan, text scanners for
// addresses and status codes, and the JSON line encoder (order, escaping).
@testable import Bounce
import MailCore
import Testing

@Test(arguments: [
    ("5.1.1", "550 unknown", BounceReason.userUnknown),
    ("5.1.2", "", .hostUnknown),
    ("5.1.6", "", .hasMoved),
    ("5.1.10", "", .notAccept),
    ("5.2.2", "", .mailboxFull),
    ("5.3.4", "", .mesgTooBig),
    ("4.4.7", "", .expired),
    ("5.7.27", "", .rejected),
    ("5.7.1", "Relay access denied", .noRelaying),
    ("5.7.1", "", .policyViolation),
    ("5.7.26", "", .authFailure),
    ("5.7.1", "Message rejected as spam by Content Filtering", .spamDetected),
    ("5.0.0", "Mailbox is full", .mailboxFull),
    ("5.0.0", "Sender address rejected: Domain not found", .rejected),
    ("5.0.0", "Host or domain name not found", .hostUnknown),
    ("5.0.0", "This account has been disabled", .suspend),
    ("5.1.1", "552 Quota exceeded", .mailboxFull),
    ("5.0.0", "Connection timed out", .networkError),
    ("5.0.0", "virus found in message", .virusDetected),
    ("4.0.0", "Too many connections from your IP", .tooManyConn),
    ("5.0.0", "", .undefined),
])
func reasonRules(status: String, text: String, expected: BounceReason) {
    #expect(ReasonRules.reason(status: status, diagnostic: text, action: .failed) == expected)
}

@Test(arguments: [
    (BounceReason.userUnknown, "5.1.1", BounceKind?.some(.hard)),
    (.hostUnknown, "5.1.2", .hard),
    (.hasMoved, "5.1.6", .hard),
    (.notAccept, "5.1.10", .hard),
    (.notAccept, "4.3.2", .soft),
    (.suspend, "5.2.1", .soft),
    (.mailboxFull, "5.2.2", .soft),
    (.blocked, "5.7.1", .soft),
    (.feedback, "", nil),
    (.vacation, "", nil),
    (.delivered, "2.0.0", nil),
])
func kindRules(reason: BounceReason, status: String, expected: BounceKind?) {
    #expect(ReasonRules.kind(for: reason, status: status) == expected)
}

@Test(arguments: [
    ("SMTP error from remote mail server after RCPT TO:<a@b.c>: 550", SMTPCommand?.some(.rcptTo)),
    ("550 5.1.1 user unknown (in reply to end of DATA command)", .data),
    ("SMTP error from remote mail server after MAIL FROM:<a@b.c> SIZE=1: 553", .mailFrom),
    (">>> RCPT To:<a@b.c>\n<<< 550 unknown", .rcptTo),
    (">>> DATA\n<<< 550 unknown user", .data),
    (">>> DATA\n<<< 550 5.1.1 unknown\n<<< 503 5.0.0 Need RCPT", .rcptTo),
    ("550 user unknown", nil),
])
func smtpCommandScan(text: String, expected: SMTPCommand?) {
    #expect(SMTPCommandScan.failedCommand(text) == expected)
}

@Test(arguments: [
    ("550 5.1.1 user unknown", ["5.1.1"]),
    ("#5.2.2 and 4.4.7.", ["5.2.2", "4.4.7"]),
    ("ip 192.0.2.5 and 10.5.1.1", []),
    ("Sendmail 8.14.4/8.14.4", []),
    ("5.7.509 Access denied", ["5.7.509"]),
    ("version 2.1.5.3", []),
])
func statusCodeScan(text: String, expected: [String]) {
    #expect(TextScanner.statusCodes(in: text) == expected)
}

@Test(arguments: [
    ("<User@Example.COM>: host said", ["user@example.com"]),
    ("to=<a.b+c@x.org>, relay", ["a.b+c@x.org"]),
    ("mail to 'q@x.org'.", ["q@x.org"]),
    ("no address @ here, nor a@b", []),
])
func addressScan(text: String, expected: [String]) {
    #expect(TextScanner.addresses(in: text).map(\.address) == expected)
}

@Test(arguments: [
    ("plain", "\"plain\""),
    ("quote \" and \\ back", "\"quote \\\" and \\\\ back\""),
    ("line\nbreak\ttab\r", "\"line\\nbreak\\ttab\\r\""),
    ("nul \u{0} bell \u{7}", "\"nul \\u0000 bell \\u0007\""),
    ("café 日本", "\"café 日本\""),
    ("sep \u{2028}", "\"sep \\u2028\""),
])
func jsonStringEscaping(input: String, expected: String) {
    #expect(JSONText.string(input) == expected)
}

@Test func jsonLinesKeepKeyOrderAndNulls() {
    let report = BounceReport(type: .bounce, recipients: [
        RecipientResult(recipient: "a@x.org", status: "5.1.1", action: .failed, kind: .hard, reason: .userUnknown,
                        diagnostic: "550 \"no\""),
        RecipientResult(recipient: "b@x.org", status: nil, action: nil, kind: nil, reason: .undefined, diagnostic: nil),
    ], originalMessageID: nil, queueID: nil)
    #expect(BounceJSON.lines(file: "f.eml", report: report) == [
        #"{"file":"f.eml","is_bounce":true,"recipient":"a@x.org","status":"5.1.1","action":"failed","kind":"hard","reason":"userunknown","diagnostic":"550 \"no\""}"#,
        #"{"file":"f.eml","is_bounce":true,"recipient":"b@x.org","status":null,"action":null,"kind":null,"reason":"undefined","diagnostic":null}"#,
    ])
}

@Test func jsonLineForAFileWithoutBounce() {
    #expect(BounceJSON.lines(file: "x", report: .none) == [
        #"{"file":"x","is_bounce":false,"recipient":null,"status":null,"action":null,"kind":null,"reason":null,"diagnostic":null}"#,
    ])
}
