// DSNComposer tests, table-driven: NOTIFY decisions; the structure of each
// kind of report (headers, parts, per-message and per-recipient fields);
// RET=FULL/HDRS/unset; UTF-8 addresses (message/global-delivery-status);
// hostile values that try to add header lines; folding of long values; the
// boundary against content that carries earlier boundaries. Round trips
// through the classifier live in DSNRoundTripTests.swift.
import Bounce
import MIME
import Testing

let dsnHost = "mx.mailgate.test"
let dsnDate: Int64 = 1_700_000_000
let userUnknown = "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in virtual mailbox table"

func originalMessage(header extra: String = "", body: String = "Hello Bob.\r\n") -> [UInt8] {
    Array(("From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: hello\r\n"
        + "Message-ID: <orig-1@example.org>\r\nX-Mailgate-Queue-ID: 0123456789ABCDEFG\r\n" + extra + "\r\n" + body).utf8)
}

func dsnRecipient(_ address: String = "bob@example.net", _ action: DeliveryAction = .failed, status: String = "5.1.1",
                  diagnostic: String? = userUnknown, orcpt: DSNOriginalRecipient? = nil,
                  remote: String? = "mx.example.net", until: Int64? = nil) -> DSNRecipientReport {
    DSNRecipientReport(finalRecipient: address, originalRecipient: orcpt, action: action, status: status,
                       remoteMTA: remote, diagnostic: diagnostic, lastAttemptDate: dsnDate - 60, willRetryUntil: until)
}

func dsnReport(_ recipients: [DSNRecipientReport], ret: DSNReturnRequest? = nil, envelopeID: String? = "ENV-1",
               sender: String = "alice@example.org", queueID: String? = "Q1") -> DSNReport {
    DSNReport(envelopeSender: sender, envelopeID: envelopeID, queueID: queueID, arrivalDate: dsnDate - 3_600,
              returnRequest: ret, recipients: recipients)
}

/// A composed DSN with the views the probes read.
struct Composed {
    let bytes: [UInt8]
    let message: MIMEMessage

    init(_ report: DSNReport, original: [UInt8] = originalMessage(), hostname: String = dsnHost,
         messageID: String = "dsn-1@mx.mailgate.test", date: Int64 = dsnDate) {
        bytes = DSNComposer.compose(report: report, original: original, hostname: hostname, date: date, messageID: messageID)
        message = MIMEParser.parse(bytes)
    }

    var header: Headers { message.headers }
    var parts: [MIMEPart] { message.root.children }
    var status: DeliveryStatus? { parts.first { $0.deliveryStatus != nil }?.deliveryStatus }
    var firstRecipient: Headers? { status?.recipients.first }
    var notice: String { parts.first.map { $0.text } ?? "" }
    var returned: MIMEPart? { parts.count > 2 ? parts[2] : nil }
    /// Lines split at CRLF; a bare CR or LF left inside a line shows up in `bareLineBreaks`.
    var lines: [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10 {
                out.append(bytes[start..<index])
                start = index + 2
                index += 2
            } else {
                index += 1
            }
        }
        if start < bytes.count { out.append(bytes[start...]) }
        return out
    }
    var bareLineBreaks: Int { lines.reduce(0) { $0 + $1.filter { $0 == 13 || $0 == 10 }.count } }
    var longestLine: Int { lines.map(\.count).max() ?? 0 }
}

// MARK: NOTIFY

struct NotifyCase: Sendable, CustomTestStringConvertible {
    let notify: DSNNotifyRequest?
    let action: DeliveryAction
    let expected: Bool
    var testDescription: String { "\(notify.map { "\($0)" } ?? "no NOTIFY") \(action.rawValue) -> \(expected)" }
}

let notifyCases: [NotifyCase] = [
    NotifyCase(notify: nil, action: .failed, expected: true),
    NotifyCase(notify: nil, action: .delayed, expected: true),
    NotifyCase(notify: nil, action: .delivered, expected: false),
    NotifyCase(notify: nil, action: .relayed, expected: false),
    NotifyCase(notify: nil, action: .expanded, expected: false),
    NotifyCase(notify: .never, action: .failed, expected: false),
    NotifyCase(notify: .never, action: .delayed, expected: false),
    NotifyCase(notify: .never, action: .delivered, expected: false),
    NotifyCase(notify: .on([.failure]), action: .failed, expected: true),
    NotifyCase(notify: .on([.failure]), action: .delayed, expected: false),
    NotifyCase(notify: .on([.failure]), action: .delivered, expected: false),
    NotifyCase(notify: .on([.delay]), action: .delayed, expected: true),
    NotifyCase(notify: .on([.delay]), action: .failed, expected: false),
    NotifyCase(notify: .on([.success]), action: .delivered, expected: true),
    NotifyCase(notify: .on([.success]), action: .relayed, expected: true),
    NotifyCase(notify: .on([.success]), action: .expanded, expected: true),
    NotifyCase(notify: .on([.success]), action: .failed, expected: false),
    NotifyCase(notify: .on([.success, .failure, .delay]), action: .delayed, expected: true),
    NotifyCase(notify: .on([]), action: .failed, expected: false),
]

@Test(arguments: notifyCases)
func notifyDecision(_ test: NotifyCase) {
    #expect(DSNComposer.shouldNotify(notify: test.notify, action: test.action) == test.expected)
}

// MARK: Probes: one value read from one composed DSN

struct DSNProbe: Sendable, CustomTestStringConvertible {
    let name: String
    let report: DSNReport
    var original: [UInt8] = originalMessage()
    var hostname: String = dsnHost
    var messageID: String = "dsn-1@mx.mailgate.test"
    var date: Int64 = dsnDate
    let read: @Sendable (Composed) -> String?
    let expected: String?
    var testDescription: String { name }
}

let failedOne = dsnReport([dsnRecipient()])
func single(_ action: DeliveryAction, _ status: String) -> DSNReport {
    dsnReport([dsnRecipient("bob@example.net", action, status: status, until: dsnDate + 86_400)])
}
func partTypes(_ dsn: Composed) -> String { dsn.parts.map(\.contentType.mimeType).joined(separator: " ") }
func returnedShape(_ dsn: Composed) -> String {
    guard let part = dsn.returned else { return "none" }
    return part.contentType.mimeType + "|" + (part.headers["Content-Transfer-Encoding"] ?? "-")
}

let structureProbes: [DSNProbe] = [
    DSNProbe(name: "failed: subject", report: failedOne, read: { $0.header["Subject"] },
             expected: "Undelivered Mail Returned to Sender"),
    DSNProbe(name: "delayed: subject", report: single(.delayed, "4.4.1"), read: { $0.header["Subject"] },
             expected: "Delayed Mail (still being retried)"),
    DSNProbe(name: "delivered: subject", report: single(.delivered, "2.0.0"), read: { $0.header["Subject"] },
             expected: "Successful Mail Delivery Report"),
    DSNProbe(name: "relayed: subject", report: single(.relayed, "2.0.0"), read: { $0.header["Subject"] },
             expected: "Successful Mail Delivery Report"),
    DSNProbe(name: "failed and delayed: failure wins the subject",
             report: dsnReport([dsnRecipient("a@example.net", .delayed, status: "4.2.2"), dsnRecipient()]),
             read: { $0.header["Subject"] }, expected: "Undelivered Mail Returned to Sender"),
    DSNProbe(name: "multipart/report of delivery-status", report: failedOne,
             read: { "\($0.message.root.contentType.mimeType); \($0.message.root.contentType.parameters["report-type"] ?? "-")" },
             expected: "multipart/report; delivery-status"),
    DSNProbe(name: "failed: three parts", report: failedOne, read: partTypes,
             expected: "text/plain message/delivery-status text/rfc822-headers"),
    DSNProbe(name: "delayed: three parts", report: single(.delayed, "4.4.1"), read: partTypes,
             expected: "text/plain message/delivery-status text/rfc822-headers"),
    DSNProbe(name: "delivered: three parts", report: single(.delivered, "2.0.0"), read: partTypes,
             expected: "text/plain message/delivery-status text/rfc822-headers"),
    DSNProbe(name: "no original: two parts", report: failedOne, original: [], read: partTypes,
             expected: "text/plain message/delivery-status"),
    DSNProbe(name: "failed: Action", report: failedOne, read: { $0.firstRecipient?["Action"] }, expected: "failed"),
    DSNProbe(name: "delayed: Action", report: single(.delayed, "4.4.1"), read: { $0.firstRecipient?["Action"] }, expected: "delayed"),
    DSNProbe(name: "delivered: Action", report: single(.delivered, "2.0.0"), read: { $0.firstRecipient?["Action"] }, expected: "delivered"),
    DSNProbe(name: "relayed: Action", report: single(.relayed, "2.0.0"), read: { $0.firstRecipient?["Action"] }, expected: "relayed"),
    DSNProbe(name: "expanded: Action", report: single(.expanded, "2.0.0"), read: { $0.firstRecipient?["Action"] }, expected: "expanded"),
    DSNProbe(name: "Status as given", report: failedOne, read: { $0.firstRecipient?["Status"] }, expected: "5.1.1"),
    DSNProbe(name: "Status with spaces around", report: single(.delivered, " 2.0.0 "), read: { $0.firstRecipient?["Status"] },
             expected: "2.0.0"),
    DSNProbe(name: "invalid Status on failure becomes 5.0.0", report: single(.failed, "5.1"),
             read: { $0.firstRecipient?["Status"] }, expected: "5.0.0"),
    DSNProbe(name: "invalid Status on delay becomes 4.0.0", report: single(.delayed, "x.y.z"),
             read: { $0.firstRecipient?["Status"] }, expected: "4.0.0"),
    DSNProbe(name: "class 3 is not a status", report: single(.delivered, "3.0.0"),
             read: { $0.firstRecipient?["Status"] }, expected: "2.0.0"),
    DSNProbe(name: "four-digit detail is not a status", report: single(.failed, "5.1.1000"),
             read: { $0.firstRecipient?["Status"] }, expected: "5.0.0"),
    DSNProbe(name: "delayed: Will-Retry-Until", report: single(.delayed, "4.4.1"),
             read: { $0.firstRecipient?["Will-Retry-Until"] }, expected: "Wed, 15 Nov 2023 22:13:20 +0000"),
    DSNProbe(name: "failed: no Will-Retry-Until", report: single(.failed, "5.1.1"),
             read: { $0.firstRecipient?["Will-Retry-Until"] }, expected: nil),
    DSNProbe(name: "Last-Attempt-Date", report: failedOne, read: { $0.firstRecipient?["Last-Attempt-Date"] },
             expected: "Tue, 14 Nov 2023 22:12:20 +0000"),
    DSNProbe(name: "Remote-MTA", report: failedOne, read: { $0.firstRecipient?["Remote-MTA"] }, expected: "dns; mx.example.net"),
    DSNProbe(name: "no Remote-MTA when none answered", report: dsnReport([dsnRecipient(remote: nil)]),
             read: { $0.firstRecipient?["Remote-MTA"] }, expected: nil),
    DSNProbe(name: "Diagnostic-Code", report: failedOne, read: { $0.firstRecipient?["Diagnostic-Code"] },
             expected: "smtp; " + userUnknown),
    DSNProbe(name: "multi-line reply joined", report: dsnReport([dsnRecipient(diagnostic: "550-5.7.1 first line\r\n550 5.7.1 second line")]),
             read: { $0.firstRecipient?["Diagnostic-Code"] }, expected: "smtp; 550-5.7.1 first line 550 5.7.1 second line"),
    DSNProbe(name: "diagnostic cut at 4 KiB", report: dsnReport([dsnRecipient(diagnostic: String(repeating: "ab ", count: 3_400))]),
             read: { $0.firstRecipient?["Diagnostic-Code"].map { "\($0.utf8.count)" } }, expected: "\(6 + 4_096)"),
    DSNProbe(name: "Final-Recipient", report: failedOne, read: { $0.firstRecipient?["Final-Recipient"] },
             expected: "rfc822; bob@example.net"),
    DSNProbe(name: "Original-Recipient from ORCPT, xtext", report: dsnReport([dsnRecipient(orcpt: .init(address: "Bob+tag=1@Example.NET"))]),
             read: { $0.firstRecipient?["Original-Recipient"] }, expected: "rfc822; Bob+2Btag+3D1@Example.NET"),
    DSNProbe(name: "no ORCPT, no Original-Recipient", report: failedOne,
             read: { $0.firstRecipient?["Original-Recipient"] }, expected: nil),
    DSNProbe(name: "Reporting-MTA", report: failedOne, read: { $0.status?.perMessage["Reporting-MTA"] }, expected: "dns; mx.mailgate.test"),
    DSNProbe(name: "Original-Envelope-Id is xtext", report: dsnReport([dsnRecipient()], envelopeID: "a+b=c d\u{e9}"),
             read: { $0.status?.perMessage["Original-Envelope-Id"] }, expected: "a+2Bb+3Dc+20d+C3+A9"),
    DSNProbe(name: "no ENVID, no Original-Envelope-Id", report: dsnReport([dsnRecipient()], envelopeID: nil),
             read: { $0.status?.perMessage["Original-Envelope-Id"] }, expected: nil),
    DSNProbe(name: "ENVID too long to keep unfolded is left out", report: dsnReport([dsnRecipient()], envelopeID: String(repeating: "+", count: 400)),
             read: { $0.status?.perMessage["Original-Envelope-Id"] }, expected: nil),
    DSNProbe(name: "Arrival-Date", report: failedOne, read: { $0.status?.perMessage["Arrival-Date"] },
             expected: "Tue, 14 Nov 2023 21:13:20 +0000"),
    DSNProbe(name: "queue id per message", report: failedOne, read: { $0.status?.perMessage["X-Mailgate-Queue-ID"] }, expected: "Q1"),
    DSNProbe(name: "one group per recipient",
             report: dsnReport([dsnRecipient("a@example.net"), dsnRecipient("b@example.net"), dsnRecipient("c@example.net")]),
             read: { $0.status.map { $0.recipients.compactMap { $0["Final-Recipient"] }.joined(separator: ",") } },
             expected: "rfc822; a@example.net,rfc822; b@example.net,rfc822; c@example.net"),
    DSNProbe(name: "From", report: failedOne, read: { $0.header["From"] }, expected: "Mail Delivery System <MAILER-DAEMON@mx.mailgate.test>"),
    DSNProbe(name: "To is the envelope sender", report: failedOne, read: { $0.header["To"] }, expected: "<alice@example.org>"),
    DSNProbe(name: "Auto-Submitted", report: failedOne, read: { $0.header["Auto-Submitted"] }, expected: "auto-replied"),
    DSNProbe(name: "MIME-Version", report: failedOne, read: { $0.header["MIME-Version"] }, expected: "1.0"),
    DSNProbe(name: "Message-ID gets brackets", report: failedOne, read: { $0.header["Message-ID"] }, expected: "<dsn-1@mx.mailgate.test>"),
    DSNProbe(name: "Message-ID kept bracketed", report: failedOne, messageID: "<x.2@h.test>", read: { $0.header["Message-ID"] },
             expected: "<x.2@h.test>"),
    DSNProbe(name: "unusable Message-ID replaced", report: failedOne, messageID: "no at sign", read: { $0.header["Message-ID"] },
             expected: "<dsn.1700000000@mx.mailgate.test>"),
    DSNProbe(name: "In-Reply-To the original", report: failedOne, read: { $0.header["In-Reply-To"] }, expected: "<orig-1@example.org>"),
    DSNProbe(name: "References the original", report: failedOne, read: { $0.header["References"] }, expected: "<orig-1@example.org>"),
    DSNProbe(name: "original without Message-ID: no In-Reply-To", report: failedOne,
             original: Array("From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n".utf8), read: { $0.header["In-Reply-To"] }, expected: nil),
    DSNProbe(name: "7bit when all is ASCII", report: failedOne, read: { $0.header["Content-Transfer-Encoding"] }, expected: "7bit"),
    DSNProbe(name: "empty hostname becomes localhost", report: failedOne, hostname: "",
             read: { $0.status?.perMessage["Reporting-MTA"] }, expected: "dns; localhost"),
    DSNProbe(name: "notice names the recipient and outcome", report: failedOne,
             read: { $0.notice.split(whereSeparator: \.isNewline).first { $0.hasPrefix("<bob@") }.map(String.init) },
             expected: "<bob@example.net>: FAILED"),
    DSNProbe(name: "notice names the original Message-ID", report: failedOne,
             read: { $0.notice.contains("Message-ID: <orig-1@example.org>") ? "yes" : "no" }, expected: "yes"),
    DSNProbe(name: "notice names the queue id", report: failedOne,
             read: { $0.notice.contains("Queue ID: Q1") ? "yes" : "no" }, expected: "yes"),
    DSNProbe(name: "notice quotes the remote answer", report: failedOne,
             read: { $0.notice.replacingNewlinesAndIndent().contains("The server mx.example.net answered: " + userUnknown) ? "yes" : "no" },
             expected: "yes"),
    DSNProbe(name: "delayed notice says it is retried", report: single(.delayed, "4.4.1"),
             read: { $0.notice.replacingNewlinesAndIndent().contains("Delivery is still being retried") ? "yes" : "no" }, expected: "yes"),
    DSNProbe(name: "no usable recipient: nothing composed", report: dsnReport([dsnRecipient("\r\n<>")]),
             read: { "\($0.bytes.count)" }, expected: "0"),
    DSNProbe(name: "null envelope sender: nothing composed", report: dsnReport([dsnRecipient()], sender: ""),
             read: { "\($0.bytes.count)" }, expected: "0"),
]

extension String {
    /// The notice as one line: CRLF and the folding indentation collapse to single spaces.
    func replacingNewlinesAndIndent() -> String {
        split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" })
            .map { $0.drop(while: { $0 == " " }) }.joined(separator: " ")
    }
}

@Test(arguments: structureProbes)
func structure(_ probe: DSNProbe) {
    let dsn = Composed(probe.report, original: probe.original, hostname: probe.hostname, messageID: probe.messageID, date: probe.date)
    #expect(probe.read(dsn) == probe.expected)
}

struct DateCase: Sendable, CustomTestStringConvertible {
    let seconds: Int64
    let expected: String
    var testDescription: String { "\(seconds)" }
}

@Test(arguments: [
    DateCase(seconds: 0, expected: "Thu, 01 Jan 1970 00:00:00 +0000"),
    DateCase(seconds: 1_700_000_000, expected: "Tue, 14 Nov 2023 22:13:20 +0000"),
    DateCase(seconds: 951_782_400, expected: "Tue, 29 Feb 2000 00:00:00 +0000"),
    DateCase(seconds: 951_868_800, expected: "Wed, 01 Mar 2000 00:00:00 +0000"),
    DateCase(seconds: 4_102_444_800, expected: "Fri, 01 Jan 2100 00:00:00 +0000"),
    DateCase(seconds: 253_402_300_799, expected: "Fri, 31 Dec 9999 23:59:59 +0000"),
    DateCase(seconds: -5, expected: "Thu, 01 Jan 1970 00:00:00 +0000"),
    DateCase(seconds: Int64.max, expected: "Fri, 31 Dec 9999 23:59:59 +0000"),
])
func dateHeader(_ test: DateCase) {
    #expect(Composed(failedOne, date: test.seconds).header["Date"] == test.expected)
}
