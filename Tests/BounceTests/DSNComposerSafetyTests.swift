// DSNComposer tests for what goes back and what cannot get in: RET=FULL, HDRS
// and unset (with 8-bit, overlong and bare-LF originals); UTF-8 addresses and
// message/global-delivery-status; hostile values carrying CR, LF, NUL and
// line separators; values long enough to need folding; the boundary against
// originals that carry every boundary chosen before. Shared helpers are in
// DSNComposerTests.swift.
import Bounce
import MIME
import Testing

func headerBlock(_ message: [UInt8]) -> [UInt8] {
    var index = 0
    while index + 3 < message.count {
        if message[index] == 13, message[index + 1] == 10, message[index + 2] == 13, message[index + 3] == 10 {
            return Array(message[..<(index + 2)])
        }
        index += 1
    }
    return message
}

let eightBitBody = originalMessage(body: "Gr\u{fc}\u{df}e, Bob.\r\n")
let eightBitHeader = originalMessage(header: "X-Note: caf\u{e9} cr\u{e8}me\r\n")
let longBodyLine = originalMessage(body: String(repeating: "x", count: 1_200) + "\r\n")
let longHeaderLine = originalMessage(header: "X-Long: " + String(repeating: "y", count: 1_500) + "\r\n")
let bareLineEnds = Array("From: alice@example.org\nMessage-ID: <orig-1@example.org>\rSubject: hi\n\nline\rnext\n\0end\n".utf8)
let utf8Recipient = "\u{7528}\u{6237}@\u{4f8b}\u{5b50}.\u{4e2d}\u{56fd}"

let returnProbes: [DSNProbe] = [
    DSNProbe(name: "failed, RET=FULL: the message", report: dsnReport([dsnRecipient()], ret: .full), read: returnedShape,
             expected: "message/rfc822|7bit"),
    DSNProbe(name: "failed, RET=HDRS: the header", report: dsnReport([dsnRecipient()], ret: .headers), read: returnedShape,
             expected: "text/rfc822-headers|7bit"),
    DSNProbe(name: "failed, no RET: the header", report: dsnReport([dsnRecipient()], ret: nil), read: returnedShape,
             expected: "text/rfc822-headers|7bit"),
    DSNProbe(name: "delayed, RET=FULL: the header only", report: dsnReport([dsnRecipient("bob@example.net", .delayed, status: "4.4.1")], ret: .full),
             read: returnedShape, expected: "text/rfc822-headers|7bit"),
    DSNProbe(name: "delivered, RET=FULL: the header only", report: dsnReport([dsnRecipient("bob@example.net", .delivered, status: "2.0.0")], ret: .full),
             read: returnedShape, expected: "text/rfc822-headers|7bit"),
    DSNProbe(name: "failed and delivered, RET=FULL: the message",
             report: dsnReport([dsnRecipient("a@example.net", .delivered, status: "2.0.0"), dsnRecipient()], ret: .full),
             read: returnedShape, expected: "message/rfc822|7bit"),
    DSNProbe(name: "RET=FULL of an 8-bit body: 8bit", report: dsnReport([dsnRecipient()], ret: .full), original: eightBitBody,
             read: returnedShape, expected: "message/rfc822|8bit"),
    DSNProbe(name: "RET=FULL of an 8-bit body: the report says 8bit", report: dsnReport([dsnRecipient()], ret: .full),
             original: eightBitBody, read: { $0.header["Content-Transfer-Encoding"] }, expected: "8bit"),
    DSNProbe(name: "RET=HDRS of an 8-bit body: still 7bit", report: dsnReport([dsnRecipient()], ret: .headers),
             original: eightBitBody, read: { $0.header["Content-Transfer-Encoding"] }, expected: "7bit"),
    DSNProbe(name: "RET=FULL with a 1200-octet line: the header instead", report: dsnReport([dsnRecipient()], ret: .full),
             original: longBodyLine, read: returnedShape, expected: "text/rfc822-headers|7bit"),
    DSNProbe(name: "RET=FULL with 8-bit headers in a 7-bit report: base64 header",
             report: dsnReport([dsnRecipient()], ret: .full), original: eightBitHeader, read: returnedShape,
             expected: "text/rfc822-headers|base64"),
    DSNProbe(name: "8-bit header declares UTF-8", report: dsnReport([dsnRecipient()]), original: eightBitHeader,
             read: { $0.returned?.contentType.charset }, expected: "utf-8"),
    DSNProbe(name: "header line over 998: base64", report: dsnReport([dsnRecipient()]), original: longHeaderLine,
             read: returnedShape, expected: "text/rfc822-headers|base64"),
    DSNProbe(name: "UTF-8 report, RET=FULL, 8-bit headers: message/global",
             report: dsnReport([dsnRecipient(utf8Recipient)], ret: .full), original: eightBitHeader, read: returnedShape,
             expected: "message/global|8bit"),
    DSNProbe(name: "UTF-8 report, RET=HDRS, 8-bit headers: message/global-headers",
             report: dsnReport([dsnRecipient(utf8Recipient)], ret: .headers), original: eightBitHeader, read: returnedShape,
             expected: "message/global-headers|8bit"),
    DSNProbe(name: "no original: no third part", report: dsnReport([dsnRecipient()], ret: .full), original: [],
             read: returnedShape, expected: "none"),
    DSNProbe(name: "RET=FULL returns the message byte for byte", report: dsnReport([dsnRecipient()], ret: .full),
             read: { $0.returned?.body == originalMessage() ? "same" : "differs" }, expected: "same"),
    DSNProbe(name: "RET=FULL returns an 8-bit message byte for byte", report: dsnReport([dsnRecipient()], ret: .full),
             original: eightBitBody, read: { $0.returned?.body == eightBitBody ? "same" : "differs" }, expected: "same"),
    DSNProbe(name: "RET=HDRS returns the header block", report: dsnReport([dsnRecipient()], ret: .headers),
             read: { $0.returned?.body == headerBlock(originalMessage()) ? "same" : "differs" }, expected: "same"),
    DSNProbe(name: "base64 header decodes to the header block", report: dsnReport([dsnRecipient()]), original: eightBitHeader,
             read: { $0.returned?.body == headerBlock(eightBitHeader) ? "same" : "differs" }, expected: "same"),
    DSNProbe(name: "bare CR, LF and NUL in the original are normalised", report: dsnReport([dsnRecipient()], ret: .full),
             original: bareLineEnds,
             read: { $0.returned.map { String(decoding: $0.body, as: UTF8.self) } },
             expected: "From: alice@example.org\r\nMessage-ID: <orig-1@example.org>\r\nSubject: hi\r\n\r\nline\r\nnext\r\n end\r\n"),
]

@Test(arguments: returnProbes)
func returnedContent(_ probe: DSNProbe) {
    let dsn = Composed(probe.report, original: probe.original)
    #expect(probe.read(dsn) == probe.expected)
}

let globalProbes: [DSNProbe] = [
    DSNProbe(name: "UTF-8 recipient: message/global-delivery-status", report: dsnReport([dsnRecipient(utf8Recipient)]),
             read: { $0.parts.count > 1 ? $0.parts[1].contentType.mimeType : nil }, expected: "message/global-delivery-status"),
    DSNProbe(name: "UTF-8 recipient: utf-8 Final-Recipient", report: dsnReport([dsnRecipient(utf8Recipient)]),
             read: { $0.firstRecipient?["Final-Recipient"] }, expected: "utf-8; " + utf8Recipient),
    DSNProbe(name: "UTF-8 recipient: notice in UTF-8", report: dsnReport([dsnRecipient(utf8Recipient)]),
             read: { $0.parts.first?.contentType.charset }, expected: "utf-8"),
    DSNProbe(name: "UTF-8 recipient: report is 8bit", report: dsnReport([dsnRecipient(utf8Recipient)]),
             read: { $0.header["Content-Transfer-Encoding"] }, expected: "8bit"),
    DSNProbe(name: "UTF-8 recipient: notice names it", report: dsnReport([dsnRecipient(utf8Recipient)]),
             read: { $0.notice.contains("<\(utf8Recipient)>: FAILED") ? "yes" : "no" }, expected: "yes"),
    DSNProbe(name: "UTF-8 ORCPT: utf-8 Original-Recipient",
             report: dsnReport([dsnRecipient(utf8Recipient, orcpt: .init(addressType: "utf-8", address: utf8Recipient))]),
             read: { $0.firstRecipient?["Original-Recipient"] }, expected: "utf-8; " + utf8Recipient),
    DSNProbe(name: "UTF-8 ORCPT: specials as \\x{HEX}",
             report: dsnReport([dsnRecipient(utf8Recipient, orcpt: .init(addressType: "UTF-8", address: "a b\\c+d=e@\u{4f8b}.cn"))]),
             read: { $0.firstRecipient?["Original-Recipient"] }, expected: "utf-8; a\\x{20}b\\x{5C}c\\x{2B}d\\x{3D}e@\u{4f8b}.cn"),
    DSNProbe(name: "UTF-8 ORCPT typed rfc822 becomes utf-8",
             report: dsnReport([dsnRecipient(orcpt: .init(addressType: "rfc822", address: "j\u{f6}rg@example.net"))]),
             read: { $0.firstRecipient?["Original-Recipient"] }, expected: "utf-8; j\u{f6}rg@example.net"),
    DSNProbe(name: "ASCII ORCPT in a UTF-8 report stays rfc822",
             report: dsnReport([dsnRecipient(utf8Recipient, orcpt: .init(address: "bob@example.net"))]),
             read: { $0.firstRecipient?["Original-Recipient"] }, expected: "rfc822; bob@example.net"),
    DSNProbe(name: "utf-8 typed ASCII ORCPT in a 7-bit report",
             report: dsnReport([dsnRecipient(orcpt: .init(addressType: "utf-8", address: "a+b@example.net"))]),
             read: { $0.firstRecipient?["Original-Recipient"] }, expected: "utf-8; a\\x{2B}b@example.net"),
    DSNProbe(name: "UTF-8 sender: To in UTF-8", report: dsnReport([dsnRecipient()], sender: utf8Recipient),
             read: { $0.header["To"] }, expected: "<\(utf8Recipient)>"),
    DSNProbe(name: "UTF-8 sender: global report", report: dsnReport([dsnRecipient()], sender: utf8Recipient),
             read: { $0.parts.count > 1 ? $0.parts[1].contentType.mimeType : nil }, expected: "message/global-delivery-status"),
    DSNProbe(name: "UTF-8 reply text kept in a UTF-8 report",
             report: dsnReport([dsnRecipient(utf8Recipient, diagnostic: "552 5.2.2 Postfach \u{fc}berf\u{fc}llt")]),
             read: { $0.firstRecipient?["Diagnostic-Code"] }, expected: "smtp; 552 5.2.2 Postfach \u{fc}berf\u{fc}llt"),
    DSNProbe(name: "UTF-8 reply text made ASCII in a 7-bit report",
             report: dsnReport([dsnRecipient(diagnostic: "552 5.2.2 Postfach \u{fc}berf\u{fc}llt")]),
             read: { $0.firstRecipient?["Diagnostic-Code"] }, expected: "smtp; 552 5.2.2 Postfach ?berf?llt"),
    DSNProbe(name: "ASCII everywhere: message/delivery-status", report: dsnReport([dsnRecipient()]),
             read: { $0.parts.count > 1 ? $0.parts[1].contentType.mimeType : nil }, expected: "message/delivery-status"),
]

@Test(arguments: globalProbes)
func utf8Addresses(_ probe: DSNProbe) {
    #expect(probe.read(Composed(probe.report, original: probe.original)) == probe.expected)
}

// MARK: Hostile values

struct HostileCase: Sendable, CustomTestStringConvertible {
    let name: String
    let report: DSNReport
    var original: [UInt8] = originalMessage()
    var hostname: String = dsnHost
    var messageID: String = "dsn-1@mx.mailgate.test"
    var testDescription: String { name }
}

let inject = "x\r\nX-Injected: 1\r\nBcc: evil@example.com\r\n\r\n--=_mailgate-dsn-0\r\n"

let hostileCases: [HostileCase] = [
    HostileCase(name: "CRLF in the diagnostic", report: dsnReport([dsnRecipient(diagnostic: "550 " + inject)])),
    HostileCase(name: "lone LF in the diagnostic", report: dsnReport([dsnRecipient(diagnostic: "550 a\nX-Injected: 1")])),
    HostileCase(name: "lone CR in the diagnostic", report: dsnReport([dsnRecipient(diagnostic: "550 a\rX-Injected: 1")])),
    HostileCase(name: "NUL and line separators in the diagnostic",
                report: dsnReport([dsnRecipient(diagnostic: "550 a\0b\u{2028}X-Injected: 1\u{85}Bcc: e@x.test")])),
    HostileCase(name: "CRLF in a long diagnostic, at a fold",
                report: dsnReport([dsnRecipient(diagnostic: String(repeating: "word ", count: 14) + "w\r\nX-Injected: 1")])),
    HostileCase(name: "CRLF in the ENVID", report: dsnReport([dsnRecipient()], envelopeID: inject)),
    HostileCase(name: "CRLF in the ORCPT", report: dsnReport([dsnRecipient(orcpt: .init(address: inject))])),
    HostileCase(name: "CRLF in the ORCPT type", report: dsnReport([dsnRecipient(orcpt: .init(addressType: inject, address: "b@x.test"))])),
    HostileCase(name: "CRLF in the final recipient", report: dsnReport([dsnRecipient("bob@example.net>" + inject)])),
    HostileCase(name: "CRLF in the sender", report: dsnReport([dsnRecipient()], sender: "alice@example.org>" + inject)),
    HostileCase(name: "CRLF in the status", report: dsnReport([dsnRecipient(status: "5.1.1" + inject)])),
    HostileCase(name: "CRLF in the remote MTA", report: dsnReport([dsnRecipient(remote: "mx.example.net" + inject)])),
    HostileCase(name: "CRLF in the queue id", report: dsnReport([dsnRecipient()], queueID: "Q1" + inject)),
    HostileCase(name: "CRLF in the hostname", report: dsnReport([dsnRecipient()]), hostname: "mx.test" + inject),
    HostileCase(name: "CRLF in our Message-ID", report: dsnReport([dsnRecipient()]), messageID: "a@b" + inject),
    HostileCase(name: "CRLF in the UTF-8 diagnostic of a UTF-8 report",
                report: dsnReport([dsnRecipient(utf8Recipient, diagnostic: "550 \u{fc}" + inject)])),
    HostileCase(name: "original Message-ID with an encoded line break", report: dsnReport([dsnRecipient()]),
                original: Array("Message-ID: <a@b>\r\n X-Injected: 1\r\nFrom: a@b.test\r\n\r\nx\r\n".utf8)),
    HostileCase(name: "bare LF original returned in full", report: dsnReport([dsnRecipient()], ret: .full), original: bareLineEnds),
]

/// Lines that start a header we did not write, and any CR or LF that is not part of a CRLF.
func injectedLines(_ dsn: Composed) -> [String] {
    var found = dsn.lines.filter { line in
        let text = String(decoding: line, as: UTF8.self).lowercased()
        return text.hasPrefix("x-injected") || text.hasPrefix("bcc")
    }.map { String(decoding: $0, as: UTF8.self) }
    if dsn.bareLineBreaks > 0 { found.append("\(dsn.bareLineBreaks) bare CR/LF") }
    if dsn.bytes.isEmpty { found.append("nothing composed") }
    return found
}

@Test(arguments: hostileCases)
func hostileValuesAddNoHeaderLines(_ test: HostileCase) {
    let dsn = Composed(test.report, original: test.original, hostname: test.hostname, messageID: test.messageID)
    #expect(injectedLines(dsn) == [])
}

@Test(arguments: hostileCases)
func hostileValuesKeepOneRecipientGroup(_ test: HostileCase) {
    let dsn = Composed(test.report, original: test.original, hostname: test.hostname, messageID: test.messageID)
    #expect(dsn.status?.recipients.count == 1)
}

// MARK: Long values

struct LongCase: Sendable, CustomTestStringConvertible {
    let name: String
    let report: DSNReport
    var original: [UInt8] = originalMessage()
    var hostname: String = dsnHost
    var messageID: String = "dsn-1@mx.mailgate.test"
    var testDescription: String { name }
}

let manyWords = (0..<400).map { "word\($0)" }.joined(separator: " ")
let oneToken = String(repeating: "z", count: 3_000)
let utf8Token = String(repeating: "\u{e9}\u{4e2d}", count: 600)

let longCases: [LongCase] = [
    LongCase(name: "400-word diagnostic", report: dsnReport([dsnRecipient(diagnostic: "550 " + manyWords)])),
    LongCase(name: "10000-octet diagnostic", report: dsnReport([dsnRecipient(diagnostic: String(repeating: "ab ", count: 3_400))])),
    LongCase(name: "3000-octet token diagnostic", report: dsnReport([dsnRecipient(diagnostic: oneToken)])),
    LongCase(name: "3000-octet UTF-8 token in a UTF-8 report", report: dsnReport([dsnRecipient(utf8Recipient, diagnostic: utf8Token)])),
    LongCase(name: "2000-octet final recipient", report: dsnReport([dsnRecipient(String(repeating: "r", count: 2_000) + "@x.test")])),
    LongCase(name: "2000-octet sender", report: dsnReport([dsnRecipient()], sender: String(repeating: "s", count: 2_000) + "@x.test")),
    LongCase(name: "2000-octet remote MTA", report: dsnReport([dsnRecipient(remote: String(repeating: "m", count: 2_000))])),
    LongCase(name: "2000-octet ORCPT", report: dsnReport([dsnRecipient(orcpt: .init(address: String(repeating: "o+", count: 1_000)))])),
    LongCase(name: "2000-octet ENVID", report: dsnReport([dsnRecipient()], envelopeID: String(repeating: "e", count: 2_000))),
    LongCase(name: "2000-octet queue id", report: dsnReport([dsnRecipient()], queueID: String(repeating: "Q", count: 2_000))),
    LongCase(name: "2000-octet status", report: dsnReport([dsnRecipient(status: String(repeating: "5", count: 2_000))])),
    LongCase(name: "2000-octet hostname", report: dsnReport([dsnRecipient()]), hostname: String(repeating: "h", count: 2_000)),
    LongCase(name: "2000-octet Message-ID", report: dsnReport([dsnRecipient()]), messageID: String(repeating: "i", count: 2_000) + "@x"),
    LongCase(name: "1200-octet body line, RET=FULL", report: dsnReport([dsnRecipient()], ret: .full), original: longBodyLine),
    LongCase(name: "1500-octet header line", report: dsnReport([dsnRecipient()]), original: longHeaderLine),
    LongCase(name: "original Message-ID of 3000 octets", report: dsnReport([dsnRecipient()]),
             original: Array("Message-ID: <\(oneToken)@x.test>\r\n\r\nx\r\n".utf8)),
]

@Test(arguments: longCases)
func everyLineFitsIn998Octets(_ test: LongCase) {
    let dsn = Composed(test.report, original: test.original, hostname: test.hostname, messageID: test.messageID)
    #expect(!dsn.bytes.isEmpty && dsn.longestLine <= 998)
}

struct UnfoldCase: Sendable, CustomTestStringConvertible {
    let name: String
    let diagnostic: String
    let recipient: String
    /// The Diagnostic-Code read back, compared after removing spaces (a cut token gains one).
    let ignoreSpaces: Bool
    var testDescription: String { name }
}

@Test(arguments: [
    UnfoldCase(name: "folded at spaces unfolds to the same text", diagnostic: "550 " + manyWords, recipient: "bob@example.net",
               ignoreSpaces: false),
    UnfoldCase(name: "a cut token keeps its octets", diagnostic: oneToken, recipient: "bob@example.net", ignoreSpaces: true),
    UnfoldCase(name: "a cut UTF-8 token stays valid UTF-8", diagnostic: utf8Token, recipient: utf8Recipient, ignoreSpaces: true),
])
func foldedDiagnosticUnfolds(_ test: UnfoldCase) {
    let dsn = Composed(dsnReport([dsnRecipient(test.recipient, diagnostic: test.diagnostic)]))
    let raw = dsn.firstRecipient?.first("Diagnostic-Code")?.rawValue ?? []
    let text = String(validating: raw, as: UTF8.self) ?? "(not UTF-8)"
    let expected = "smtp; " + test.diagnostic
    #expect(test.ignoreSpaces ? text.filter { $0 != " " } == expected.filter { $0 != " " } : text == expected)
}

// MARK: Boundary

/// Each round returns an original that holds, as lines, every boundary chosen so far.
@Test func boundaryNeverAppearsInTheContent() {
    var original = originalMessage()
    var boundaries: [String] = []
    var intact = true
    for _ in 0..<16 {
        let dsn = Composed(dsnReport([dsnRecipient()], ret: .full), original: original)
        let boundary = dsn.message.root.contentType.boundary ?? ""
        boundaries.append(boundary)
        intact = intact && dsn.parts.count == 3 && dsn.returned?.body == original
        original = originalMessage(body: "Hello.\r\n" + boundaries.map { "--\($0)\r\n--\($0)--\r\n" }.joined())
    }
    #expect(intact && Set(boundaries).count == boundaries.count)
}

@Test func sameInputsComposeTheSameBytes() {
    let report = dsnReport([dsnRecipient(), dsnRecipient("c@example.net", .delayed, status: "4.2.2")], ret: .full)
    #expect(Composed(report).bytes == Composed(report).bytes)
}
