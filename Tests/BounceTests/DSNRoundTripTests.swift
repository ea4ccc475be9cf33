// Round trips: a DSN from DSNComposer, read back by this module's own
// BounceClassifier, must name every reported recipient with the status,
// action and hard/soft kind we put in (delivered recipients of a failure
// report are left out by the classifier's contract), and must lead back to
// the original send through its Message-ID and our queue id.
import Bounce
import Testing

struct RoundTripCase: Sendable, CustomTestStringConvertible {
    let name: String
    let report: DSNReport
    var original: [UInt8] = originalMessage()
    /// "type: recipient status action kind; ..." as the classifier should see it.
    let expected: String
    var testDescription: String { name }
}

func summary(_ report: BounceReport) -> String {
    "\(report.type.rawValue): " + report.recipients.map {
        "\($0.recipient) \($0.status ?? "-") \($0.action?.rawValue ?? "-") \($0.kind?.rawValue ?? "-")"
    }.joined(separator: "; ")
}

let roundTripCases: [RoundTripCase] = [
    RoundTripCase(name: "user unknown", report: dsnReport([dsnRecipient()]),
                  expected: "bounce: bob@example.net 5.1.1 failed hard"),
    RoundTripCase(name: "mailbox full, permanent",
                  report: dsnReport([dsnRecipient(status: "5.2.2", diagnostic: "552 5.2.2 Mailbox full: quota exceeded")]),
                  expected: "bounce: bob@example.net 5.2.2 failed soft"),
    RoundTripCase(name: "domain not found, no server answered",
                  report: dsnReport([dsnRecipient(status: "5.1.2", diagnostic: nil, remote: nil)]),
                  expected: "bounce: bob@example.net 5.1.2 failed hard"),
    RoundTripCase(name: "gave up after retrying",
                  report: dsnReport([dsnRecipient(status: "4.4.7", diagnostic: nil, remote: nil)]),
                  expected: "bounce: bob@example.net 4.4.7 failed soft"),
    RoundTripCase(name: "delayed, mailbox full",
                  report: dsnReport([dsnRecipient("carol@example.net", .delayed, status: "4.2.2", diagnostic: "452 4.2.2 Mailbox full",
                                                  until: dsnDate + 86_400)]),
                  expected: "bounce: carol@example.net 4.2.2 delayed soft"),
    RoundTripCase(name: "delayed, connection refused",
                  report: dsnReport([dsnRecipient("carol@example.net", .delayed, status: "4.4.1", diagnostic: nil, remote: nil)]),
                  expected: "bounce: carol@example.net 4.4.1 delayed soft"),
    RoundTripCase(name: "delivered", report: dsnReport([dsnRecipient("bob@example.net", .delivered, status: "2.0.0",
                                                                     diagnostic: "250 2.0.0 Ok: queued as ABC")]),
                  expected: "deliveryReceipt: bob@example.net 2.0.0 delivered -"),
    RoundTripCase(name: "relayed", report: dsnReport([dsnRecipient("bob@example.net", .relayed, status: "2.0.0", diagnostic: nil)]),
                  expected: "deliveryReceipt: bob@example.net 2.0.0 relayed -"),
    RoundTripCase(name: "two failed recipients",
                  report: dsnReport([dsnRecipient("a@example.net"),
                                     dsnRecipient("b@example.com", status: "5.2.2", diagnostic: "552 5.2.2 mailbox full")]),
                  expected: "bounce: a@example.net 5.1.1 failed hard; b@example.com 5.2.2 failed soft"),
    RoundTripCase(name: "one failed, one delayed",
                  report: dsnReport([dsnRecipient("a@example.net"),
                                     dsnRecipient("c@example.org", .delayed, status: "4.3.2", diagnostic: "421 4.3.2 try later")]),
                  expected: "bounce: a@example.net 5.1.1 failed hard; c@example.org 4.3.2 delayed soft"),
    RoundTripCase(name: "one failed, one delivered: the failure is the bounce",
                  report: dsnReport([dsnRecipient("d@example.net", .delivered, status: "2.0.0"), dsnRecipient("a@example.net")]),
                  expected: "bounce: a@example.net 5.1.1 failed hard"),
    RoundTripCase(name: "upper-case address", report: dsnReport([dsnRecipient("Bob@Example.NET")]),
                  expected: "bounce: bob@example.net 5.1.1 failed hard"),
    RoundTripCase(name: "UTF-8 recipient", report: dsnReport([dsnRecipient(utf8Recipient)]),
                  expected: "bounce: \(utf8Recipient) 5.1.1 failed hard"),
    RoundTripCase(name: "hostile diagnostic", report: dsnReport([dsnRecipient(diagnostic: "550 5.1.1 no such user" + inject)]),
                  expected: "bounce: bob@example.net 5.1.1 failed hard"),
    RoundTripCase(name: "RET=FULL", report: dsnReport([dsnRecipient()], ret: .full),
                  expected: "bounce: bob@example.net 5.1.1 failed hard"),
    RoundTripCase(name: "invalid status filled in from the action", report: dsnReport([dsnRecipient(status: "?", diagnostic: nil)]),
                  expected: "bounce: bob@example.net 5.0.0 failed soft"),
]

@Test(arguments: roundTripCases)
func classifierReadsComposedDSN(_ test: RoundTripCase) {
    let bytes = Composed(test.report, original: test.original).bytes
    #expect(summary(BounceClassifier.classify(bytes)) == test.expected)
}

struct MatchingCase: Sendable, CustomTestStringConvertible {
    let name: String
    let report: DSNReport
    let original: [UInt8]
    var testDescription: String { name }
}

@Test(arguments: [
    MatchingCase(name: "RET=FULL", report: dsnReport([dsnRecipient()], ret: .full), original: originalMessage()),
    MatchingCase(name: "RET=HDRS", report: dsnReport([dsnRecipient()], ret: .headers), original: originalMessage()),
    MatchingCase(name: "delayed", report: dsnReport([dsnRecipient("c@example.net", .delayed, status: "4.2.2")]),
                 original: originalMessage()),
    MatchingCase(name: "8-bit header sent base64", report: dsnReport([dsnRecipient()]), original: eightBitHeader),
])
func classifierMatchesTheOriginalSend(_ test: MatchingCase) {
    let report = BounceClassifier.classify(Composed(test.report, original: test.original).bytes)
    #expect("\(report.originalMessageID ?? "-") \(report.queueID ?? "-")" == "<orig-1@example.org> 0123456789ABCDEFG")
}

@Test func classifierKeepsAFoldedDiagnostic() {
    let diagnostic = "550 5.1.1 <bob@example.net>: " + manyWords
    let report = BounceClassifier.classify(Composed(dsnReport([dsnRecipient(diagnostic: diagnostic)])).bytes)
    #expect(report.recipients.first?.diagnostic == diagnostic)
}
