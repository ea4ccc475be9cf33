// MIME parser tests: header unfolding, encoded words in many charsets,
// transfer encodings, RFC 2231 parameters, multipart repair (missing final
// boundary, no boundary, preamble/epilogue), nesting limits, huge and 8-bit
// headers, every prefix of a message, and delivery-status field groups.
import Foundation
import MIME
import Testing

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Test func headerFoldingIsUnfolded() {
    let message = MIMEParser.parse(bytes("Subject: one\r\n two\r\n\tthree\r\nX-A: b\r\n\r\nbody"))
    #expect(message.headers["Subject"] == "one two\tthree")
}

@Test(arguments: [
    ("=?UTF-8?B?w6k=?=", "é"),
    ("=?ISO-8859-1?Q?caf=E9?=", "café"),
    ("=?utf-8?q?a_b?= =?utf-8?q?c?=", "a bc"),
    ("x =?utf-8?q?a?= y", "x a y"),
    ("=?iso-2022-jp?B?GyRCRnxLXBsoQg==?=", "日本"),
    ("=?shift_jis?B?k/qWew==?=", "日本"),
    ("=?euc-jp?B?xvzL3A==?=", "日本"),
    ("=?windows-1252?Q?=80?=", "€"),
    ("=?iso-8859-15?Q?=A4?=", "€"),
    ("=?iso-8859-2?Q?=B1?=", "ą"),
    ("=?UTF-8?B?4w==?= =?UTF-8?B?gYI=?=", "あ"),
    ("=?utf-8*en?Q?hi?=", "hi"),
    ("plain =?bogus", "plain =?bogus"),
    ("=?utf-8?x?abc?=", "=?utf-8?x?abc?="),
    ("=?unknown-charset?Q?abc?=", "abc"),
])
func encodedWordsDecode(input: String, expected: String) {
    #expect(EncodedWords.decode(bytes(input)) == expected)
}

@Test(arguments: [
    ("John Doe <JDoe@Example.COM>", [MailAddress(displayName: "John Doe", address: "JDoe@example.com")]),
    ("\"Doe, John\" <j@x.org>, k@y.org (Kay)", [MailAddress(displayName: "Doe, John", address: "j@x.org"),
                                                MailAddress(displayName: "Kay", address: "k@y.org")]),
    ("team: a@x.org, b@y.org;, c@z.org", [MailAddress(displayName: nil, address: "a@x.org", group: "team"),
                                           MailAddress(displayName: nil, address: "b@y.org", group: "team"),
                                           MailAddress(displayName: nil, address: "c@z.org")]),
    ("<@route.example:user@x.org>", [MailAddress(displayName: nil, address: "user@x.org")]),
    ("\"quoted local\"@X.org", [MailAddress(displayName: nil, address: "\"quoted local\"@x.org")]),
    ("\"needless\"@x.org", [MailAddress(displayName: nil, address: "needless@x.org")]),
    ("=?utf-8?q?J=C3=B6rg?= <j@x.de>", [MailAddress(displayName: "Jörg", address: "j@x.de")]),
    ("Undisclosed recipients:;", []),
    ("a@x.org (comment (nested)) , , <b@y.org>", [MailAddress(displayName: "comment (nested)", address: "a@x.org"),
                                                  MailAddress(displayName: nil, address: "b@y.org")]),
    ("Mary Q. Public <mary@x.org>", [MailAddress(displayName: "Mary Q. Public", address: "mary@x.org")]),
])
func addressListParses(input: String, expected: [MailAddress]) {
    #expect(AddressList.parse(input) == expected)
}

@Test(arguments: [
    ("aGVsbG8=", "hello", true),
    ("aGVs\r\nbG8=", "hello", true),
    ("aGVs!!bG8=", "hello", false),
    ("aGVsbG8", "hello", true),
])
func base64IsTolerant(input: String, expected: String, clean: Bool) {
    let decoded = TransferEncoding.base64(bytes(input))
    #expect(decoded.bytes == bytes(expected))
    #expect(decoded.clean == clean)
}

@Test(arguments: [
    ("caf=C3=A9", "café"),
    ("soft=\r\nbreak", "softbreak"),
    ("trailing   \r\nline", "trailing\r\nline"),
    ("bad=ZZescape", "bad=ZZescape"),
])
func quotedPrintableDecodes(input: String, expected: String) {
    #expect(TransferEncoding.quotedPrintable(bytes(input)).bytes == bytes(expected))
}

@Test(arguments: [
    ("Content-Disposition: attachment; filename*0*=utf-8''%E6%97%A5; filename*1=\".txt\"", "日.txt"),
    ("Content-Disposition: attachment; filename*=iso-8859-1'fr'caf%E9.txt", "café.txt"),
    ("Content-Disposition: attachment; filename=\"a \\\"b\\\".txt\"", "a \"b\".txt"),
    ("Content-Type: application/pdf; name=\"=?utf-8?B?w6kucGRm?=\"", "é.pdf"),
    ("Content-Type: application/pdf; name=report.pdf (comment)", "report.pdf"),
])
func filenamesAreDecoded(header: String, expected: String) {
    let message = MIMEParser.parse(bytes(header + "\r\n\r\nx"))
    #expect(message.root.filename == expected)
}

let nestedSample = """
From: a@x.org\r
Content-Type: multipart/mixed; boundary="outer"\r
\r
preamble text\r
--outer\r
Content-Type: text/plain; charset=iso-8859-1\r
Content-Transfer-Encoding: quoted-printable\r
\r
caf=E9\r
--outer\r
Content-Type: multipart/alternative; boundary=inner\r
\r
--inner\r
Content-Type: text/plain\r
\r
alt one\r
--inner\r
Content-Type: text/html\r
\r
<p>alt two</p>\r
--inner--\r
--outer\r
Content-Type: message/rfc822\r
\r
Subject: inner message\r
Message-ID: <inner@x.org>\r
\r
inner body\r
--outer--\r
epilogue\r

"""

@Test func nestedMultipartParses() {
    let message = MIMEParser.parse(bytes(nestedSample))
    let root = message.root
    #expect(message.defects.isEmpty)
    #expect(root.children.count == 3)
    #expect(root.children.first?.text == "café")
    #expect(root.children.dropFirst().first?.children.count == 2)
    #expect(root.children.last?.embedded?.root.headers["Message-ID"] == "<inner@x.org>")
    #expect(Text(root.preamble) == "preamble text")
    #expect(Text(root.epilogue) == "epilogue\r\n")
}

func Text(_ slice: ArraySlice<UInt8>) -> String { String(decoding: slice, as: UTF8.self) }

@Test func missingFinalBoundaryKeepsLastPart() {
    let input = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo and more\n"
    let message = MIMEParser.parse(bytes(input))
    #expect(message.root.children.map(\.text) == ["one", "two and more\n"])
    #expect(message.defects.contains(.missingFinalBoundary))
}

@Test func noBoundaryFoundKeepsBody() {
    let input = "Content-Type: multipart/mixed; boundary=b\n\njust text\n"
    let message = MIMEParser.parse(bytes(input))
    #expect(Text(message.root.preamble) == "just text\n")
    #expect(message.defects.contains(.noBoundaryFound))
}

@Test func contentTypeWithoutSemicolonKeepsItsBoundary() {
    let input = "Content-Type: multipart/mixed boundary=\"b\"\n\n--b\n\none\n--b--\n"
    #expect(MIMEParser.parse(bytes(input)).root.children.map(\.text) == ["one"])
}

@Test func missingBoundaryParameterFallsBackToText() {
    let message = MIMEParser.parse(bytes("Content-Type: multipart/mixed\n\nbody"))
    #expect(message.root.contentType.mimeType == "text/plain")
    #expect(message.defects.contains(.missingBoundaryParameter))
}

@Test func boundaryPrefixInsideTextIsNotADelimiter() {
    let input = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx is text\n--b--\n"
    #expect(MIMEParser.parse(bytes(input)).root.children.map(\.text) == ["--bx is text"])
}

@Test func headerWithoutBlankLineEndsAtFirstNonField() {
    let message = MIMEParser.parse(bytes("Subject: s\nthis is body\n"))
    #expect(message.headers["Subject"] == "s")
    #expect(Text(message.root.rawBody) == "this is body\n")
    #expect(message.defects.contains(.missingHeaderBodySeparator))
}

@Test func eightBitHeaderIsKept() {
    let input: [UInt8] = bytes("Subject: caf") + [0xE9] + bytes("\n\nx")
    let message = MIMEParser.parse(input)
    #expect(message.headers["Subject"] == "café")
    #expect(message.headers.first("Subject")?.rawValue == bytes("caf") + [0xE9])
    #expect(message.defects.contains(.nonASCIIHeader))
}

@Test func hugeHeadersAreBounded() {
    var input = "Subject: " + String(repeating: "x", count: 200_000) + "\n"
    for index in 0..<6_000 { input += "X-N\(index): v\n" }
    input += "\nbody"
    let message = MIMEParser.parse(bytes(input))
    #expect(message.headers.fields.count == 5_000)
    #expect(message.headers["Subject"]?.count == 200_000)
    #expect(message.defects.contains(.tooManyHeaderFields))
}

@Test func deepNestingStopsAtTheLimit() {
    var input = "Subject: leaf\n\nleaf body\n"
    for _ in 0..<60 { input = "Content-Type: message/rfc822\n\n" + input }
    let message = MIMEParser.parse(bytes(input), limits: MIMELimits(maxDepth: 24, maxParts: 2_000))
    #expect(message.defects.contains(.depthLimitReached))
    #expect(message.root.allParts.count <= 25)
}

@Test func partCountIsBounded() {
    var input = "Content-Type: multipart/mixed; boundary=b\n\n"
    for _ in 0..<5_000 { input += "--b\n\nx\n" }
    input += "--b--\n"
    let message = MIMEParser.parse(bytes(input), limits: MIMELimits(maxDepth: 24, maxParts: 100))
    #expect(message.root.children.count < 100)
    #expect(message.defects.contains(.partLimitReached))
}

@Test func rawBytesAreNeverLost() {
    let input = bytes(nestedSample)
    let root = MIMEParser.parse(input).root
    #expect(Array(root.rawHeader) + Array(root.rawBody) == input)
}

/// Every prefix of a message parses (the byte-at-a-time discipline for a whole-message parser).
@Test func everyPrefixParses() {
    let input = bytes(nestedSample)
    for length in 0...input.count {
        let root = MIMEParser.parse(Array(input[..<length])).root
        #expect(root.rawHeader.count + root.rawBody.count == length)
    }
}

@Test func deliveryStatusGroups() {
    let input = """
    Content-Type: message/delivery-status

    Reporting-MTA: dns; mx.example.org
    Arrival-Date: Mon, 1 Jan 2024 00:00:00 +0000

    Final-Recipient: rfc822; a@example.com
    Action: failed
    Status: 5.1.1
    Diagnostic-Code: smtp; 550 5.1.1 <a@example.com>:
      user unknown

    Final-Recipient: rfc822; b@example.com
    Action: delayed
    Status: 4.4.7
    Final-Recipient: rfc822; c@example.com
    Action: failed
    Status: 5.2.2

    """
    let status = MIMEParser.parse(bytes(input)).root.deliveryStatus
    #expect(status?.perMessage["Reporting-MTA"] == "dns; mx.example.org")
    #expect(status?.recipients.count == 3)
    #expect(status?.recipients.first?["Diagnostic-Code"] == "smtp; 550 5.1.1 <a@example.com>:  user unknown")
    #expect(status?.recipients.last?["Status"] == "5.2.2")
    #expect(DeliveryStatus.typedValue("rfc822; x@y.org") == ("rfc822", "x@y.org"))
}

@Test func base64MessageRFC822IsDecodedBeforeParsing() {
    let inner = Data("Subject: hidden\r\n\r\nbody".utf8).base64EncodedString()
    let input = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + inner + "\n"
    #expect(MIMEParser.parse(bytes(input)).root.embedded?.root.headers["Subject"] == "hidden")
}

@Test func rfc822HeadersPartHasHeadersOnly() {
    let input = "Content-Type: text/rfc822-headers\n\nMessage-ID: <m@x>\nSubject: s\n"
    #expect(MIMEParser.parse(bytes(input)).root.embedded?.root.headers["Message-ID"] == "<m@x>")
}

@Test(.enabled(if: Corpus.available, "the shared corpus is not next to this worktree"))
func everyCorpusMessageParses() throws {
    var defects = 0
    for file in try Corpus.messageFiles() {
        let input = try Corpus.bytes(file)
        let message = MIMEParser.parse(input)
        defects += message.defects.count
        #expect(!message.headers.fields.isEmpty, "\(file) has no headers")
        #expect(message.root.rawHeader.count + message.root.rawBody.count == input.count)
    }
    print("corpus MIME defects: \(defects)")
}

/// Random bytes drawn from the MIME alphabet: parsing never crashes and keeps every byte.
@Test func randomInputNeverCrashes() {
    var generator = SplitMix(seed: 42)
    let alphabet = bytes("--b\r\n:;=?\"<>@ Content-Type: multipart/mixed; boundary=b message/rfc822 base64 =?utf-8?B?") + [0, 0xFF, 0xE9]
    for _ in 0..<300 {
        let length = Int(generator.next() % 600)
        let input = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        let message = MIMEParser.parse(input)
        #expect(message.root.rawHeader.count + message.root.rawBody.count == input.count)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
