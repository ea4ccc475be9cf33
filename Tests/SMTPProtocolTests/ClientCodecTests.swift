// The upstream client's small parts on their own: reply reading (multi-line replies split at every
// byte, garbage, limits), EHLO capabilities, retry hints, upstream queue
// ids, dot-stuffing (whole and chunked) and xtext. Reply verdicts: UpstreamReplyTableTests.

import Testing
import MailCore
@testable import SMTPProtocol

/// Feeds `text` to a reader in chunks of `chunkSize` bytes (0: at once) and collects what it yields.
func readReplies(_ text: String, chunkSize: Int = 0, maxLineLength: Int = 4096,
                 maxLines: Int = 100) -> [Result<SMTPReply, SMTPReplyError>] {
    var reader = SMTPReplyReader(maxLineLength: maxLineLength, maxLines: maxLines)
    var out: [Result<SMTPReply, SMTPReplyError>] = []
    let data = Array(text.utf8)
    let size = chunkSize <= 0 ? max(1, data.count) : chunkSize
    var index = 0
    while index < data.count {
        let end = min(data.count, index + size)
        reader.append(data[index..<end])
        while let next = reader.next() { out.append(next) }
        index = end
    }
    return out
}

@Suite struct ClientCodecTests {
    static let replies: [(String, SMTPReply)] = [
        ("250 2.1.0 Ok\r\n", SMTPReply(250, "2.1.0", "Ok")),
        ("250 Ok\r\n", SMTPReply(250, nil, "Ok")),
        ("250\r\n", SMTPReply(250, nil, "")),
        ("354 End data with <CR><LF>.<CR><LF>\r\n", SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>")),
        ("550 5.1.1 user unknown\n", SMTPReply(550, "5.1.1", "user unknown")),
        ("550 4.1.1 class mismatch stays text\r\n", SMTPReply(550, nil, "4.1.1 class mismatch stays text")),
        ("451 4.7.650 rate limited\r\n", SMTPReply(451, "4.7.650", "rate limited")),
        ("250 2.0.0.1 not an enhanced code\r\n", SMTPReply(250, nil, "2.0.0.1 not an enhanced code")),
        ("250-mx.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
         SMTPReply(code: 250, enhanced: nil, lines: ["mx.test", "PIPELINING", "SIZE 100"])),
        ("535-5.7.8 Username and Password not accepted.\r\n535 5.7.8 Learn more\r\n",
         SMTPReply(code: 535, enhanced: "5.7.8", lines: ["Username and Password not accepted.", "Learn more"])),
        ("220 caf\u{E9} \u{1}bell\r\n", SMTPReply(220, nil, "caf\u{E9} ?bell")),
    ]

    @Test(arguments: replies)
    func readsReply(_ testCase: (String, SMTPReply)) {
        #expect(readReplies(testCase.0) == [.success(testCase.1)])
    }

    /// A three-line reply cut at every byte gives the same reply.
    @Test(arguments: 1..<40)
    func multiLineReplySplitAnywhere(_ cut: Int) {
        let text = "250-mx.upstream.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
        let data = Array(text.utf8)
        var reader = SMTPReplyReader(maxLineLength: 4096, maxLines: 100)
        var out: [Result<SMTPReply, SMTPReplyError>] = []
        reader.append(data[..<min(cut, data.count)])
        while let next = reader.next() { out.append(next) }
        reader.append(data[min(cut, data.count)...])
        while let next = reader.next() { out.append(next) }
        #expect(out == [.success(SMTPReply(code: 250, enhanced: nil, lines: ["mx.upstream.test", "AUTH PLAIN", "8BITMIME"]))])
    }

    @Test func byteAtATimeYieldsEveryPipelinedReply() {
        let replies = readReplies(postfixAccept2 + "250 2.0.0 Ok: queued as X\r\n", chunkSize: 1)
        #expect(replies.map { (try? $0.get())?.code } == [250, 250, 250, 354, 250])
    }

    static let garbage: [(String, SMTPReplyError)] = [
        ("hello\r\n", .malformedLine("hello")),
        ("22\r\n", .malformedLine("22")),
        ("2200 x\r\n", .malformedLine("2200 x")),
        ("220_x\r\n", .malformedLine("220_x")),
        ("099 x\r\n", .malformedLine("099 x")),
        ("600 x\r\n", .malformedLine("600 x")),
        ("170 x\r\n", .malformedLine("170 x")),
        ("2a0 x\r\n", .malformedLine("2a0 x")),
        ("\r\n", .malformedLine("")),
        ("\u{0}\u{0}\u{0} x\r\n", .malformedLine("??? x")),
        ("-220 x\r\n", .malformedLine("-220 x")),
        ("220-a\r\n250 b\r\n", .mixedCodes),
        ("220 " + String(repeating: "x", count: 5000) + "\r\n", .lineTooLong),
        (String(repeating: "250-x\r\n", count: 101), .tooManyLines),
    ]

    @Test(arguments: garbage)
    func refusesGarbage(_ testCase: (String, SMTPReplyError)) {
        #expect(readReplies(testCase.0).first == .failure(testCase.1))
    }

    static let capabilityCases: [(String, SMTPServerCapabilities)] = {
        var postfix = SMTPServerCapabilities()
        postfix.pipelining = true; postfix.size = 10_240_000; postfix.enhancedStatusCodes = true
        postfix.eightBitMIME = true; postfix.dsn = true; postfix.smtpUTF8 = true; postfix.chunking = true
        postfix.authMechanisms = ["PLAIN", "LOGIN"]
        var sink = SMTPServerCapabilities()
        sink.pipelining = true; sink.eightBitMIME = true; sink.authMechanisms = ["PLAIN", "LOGIN"]
        sink.enhancedStatusCodes = true; sink.size = 0; sink.dsn = true
        var plain = SMTPServerCapabilities()
        plain.eightBitMIME = true
        var oldAuth = SMTPServerCapabilities()
        oldAuth.authMechanisms = ["LOGIN", "CRAM-MD5"]; oldAuth.startTLS = true; oldAuth.size = Int.max
        return [
            (postfixEHLOTLS, postfix), (sinkEHLO, sink), (plainEHLO, plain),
            ("250-x\r\n250-auth=login cram-md5\r\n250-starttls\r\n250 SIZE 99999999999999999999999\r\n", oldAuth),
            ("250 only a name\r\n", SMTPServerCapabilities()),
        ]
    }()

    @Test(arguments: capabilityCases)
    func capabilities(_ testCase: (String, SMTPServerCapabilities)) throws {
        let reply = try #require(try readReplies(testCase.0).first?.get())
        #expect(SMTPServerCapabilities(ehlo: reply) == testCase.1)
    }

    static let retryHints: [(String, Duration?)] = [
        ("try again in 10 minutes", .seconds(600)),
        ("Please try again in 5 min", .seconds(300)),
        ("retry after 300 seconds", .seconds(300)),
        ("Retry-After: 120", .seconds(120)),
        ("please retry in 1 hour", .seconds(3600)),
        ("try again in an hour", .seconds(3600)),
        ("Try again after 2h", .seconds(7200)),
        ("wait 30s and retry", .seconds(30)),
        ("try again in about 15 minutes", .seconds(900)),
        ("Daily limit reached, retry in 1 day", .seconds(86400)),
        ("try again in 99999999999999999999 days", RetryHint.maximum),
        ("try again in 30 days", RetryHint.maximum),
        ("Please try again later", nil),
        ("4.7.28 Our system has detected an unusual rate of unsolicited mail", nil),
        ("try again in a while", nil),
        ("wait for the next window", nil),
        ("", nil),
    ]

    @Test(arguments: retryHints)
    func retryHint(_ testCase: (String, Duration?)) {
        #expect(RetryHint.parse(testCase.0) == testCase.1)
    }

    static let queueIDs: [(String, String?)] = [
        ("Ok: queued as 4XyZ12", "4XyZ12"),
        ("Ok: Queued As ABC123; thanks", "ABC123"),
        ("OK id=1rAbCd-0001Xy-2Z", "1rAbCd-0001Xy-2Z"),
        ("OK  1700000000 a1-20020a05 - gsmtp", nil),
        ("Ok: queued as ", nil),
        ("Ok uuid=abc", nil),
        ("queued as " + String(repeating: "x", count: 65), nil),
    ]

    @Test(arguments: queueIDs)
    func upstreamQueueID(_ testCase: (String, String?)) {
        #expect(SMTPClientSession.upstreamQueueID(in: testCase.0) == testCase.1)
    }

    static let stuffing: [(String, String)] = [
        ("Hello\r\n", "Hello\r\n.\r\n"),
        ("", ".\r\n"),
        (".\r\n", "..\r\n.\r\n"),
        ("a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n.\r\n"),
        ("no final line end", "no final line end\r\n.\r\n"),
        ("ends in CR\r", "ends in CR\r\n.\r\n"),
        ("a.b\r\n. \r\n", "a.b\r\n.. \r\n.\r\n"),
        ("\r\n.\r\n", "\r\n..\r\n.\r\n"),
    ]

    @Test(arguments: stuffing)
    func dotStuffing(_ testCase: (String, String)) {
        #expect(String(decoding: DotStuffer.stuffed(Array(testCase.0.utf8)), as: UTF8.self) == testCase.1)
    }

    @Test(arguments: stuffing)
    func dotStuffingOneByteAtATime(_ testCase: (String, String)) {
        var stuffer = DotStuffer()
        var out: [UInt8] = []
        for byte in testCase.0.utf8 { stuffer.stuff([byte], into: &out) }
        stuffer.finish(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == testCase.1)
    }

    static let xtexts: [(String, String)] = [("abc", "abc"), ("a+b=c", "a+2Bb+3Dc"), ("a b", "a+20b"), ("é", "+C3+A9")]

    @Test(arguments: xtexts)
    func xtextEncoding(_ testCase: (String, String)) {
        #expect(SMTPClientEncoding.xtext(testCase.0) == testCase.1)
    }

    @Test(arguments: xtexts)
    func xtextRoundTrip(_ testCase: (String, String)) {
        #expect(ESMTPParameters.xtextDecode(Array(SMTPClientEncoding.xtext(testCase.0).utf8)[...]) == testCase.0)
    }
}
