// Facts from whole messages: participants, snippet, attachments and their
// digests, body digest stability, header JSON, our queue ids in returned mail,
// SHA-256 vectors, the soft-bounce streak, and hostile messages.
import MIME
import Testing
@testable import Threading

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct SHA256Tests {
    static let vectors: [(String, String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
    ]

    @Test(arguments: vectors) func knownDigests(_ input: String, _ expected: String) {
        #expect(SHA256.hex(bytes(input)) == expected)
    }

    @Test func aMillionAs() {
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func updatesInPiecesGiveTheSameDigest() {
        let input = [UInt8]((0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        var hasher = SHA256()
        for byte in input { hasher.update([byte]) }
        #expect(hasher.finish() == SHA256.digest(input))
    }
}

@Suite struct ParticipantTests {
    static let message = bytes("""
        From: "Alice A." <Alice@Example.ORG>\r
        To: bob@example.net, Team: carol@example.net, Dave <dave@EXAMPLE.net>;, bob@example.net\r
        Cc: =?UTF-8?Q?Ren=C3=A9?= <rene@example.fr>, undisclosed-recipients:;\r
        Bcc: (secret) eve@example.com\r
        Reply-To: <replies@example.org>\r
        Subject: x\r
        \r
        body\r

        """)

    static let expected: [Participant] = [
        Participant(role: .from, address: "alice@example.org", displayName: "Alice A."),
        Participant(role: .to, address: "bob@example.net", displayName: nil),
        Participant(role: .to, address: "carol@example.net", displayName: nil),
        Participant(role: .to, address: "dave@example.net", displayName: "Dave"),
        Participant(role: .cc, address: "rene@example.fr", displayName: "René"),
        Participant(role: .bcc, address: "eve@example.com", displayName: "secret"),
        Participant(role: .replyTo, address: "replies@example.org", displayName: nil),
    ]

    @Test func rolesAddressesAndNames() {
        #expect(MessageAnalysis.facts(Self.message).participants == Self.expected)
    }

    static let addresses: [(String, String?)] = [
        ("Bob@Example.COM", "bob@example.com"),
        ("bob", nil),
        ("@example.com", nil),
        ("bob@", nil),
        ("bo b@example.com", nil),
        ("b\u{0}ob@example.com", nil),
    ]

    @Test(arguments: addresses) func normalisesAddresses(_ input: String, _ expected: String?) {
        #expect(Participants.normalisedAddress(input) == expected)
    }

    @Test func thousandsOfRecipientsAreBounded() {
        let to = (0..<5_000).map { "u\($0)@example.com" }.joined(separator: ", ")
        let facts = MessageAnalysis.facts(bytes("To: \(to)\r\nSubject: x\r\n\r\nhi\r\n"))
        #expect(facts.participants.count == Participants.maxCount)
    }
}

@Suite struct SnippetTests {
    static let cases: [(String, String)] = [
        ("Content-Type: text/plain\r\n\r\nHello   there,\r\n\r\nsee you.\r\n", "Hello there, see you."),
        ("Content-Type: text/plain\r\n\r\nYes.\r\n> quoted line\r\n>> deeper\r\nBye\r\n", "Yes. Bye"),
        ("Content-Type: text/html\r\n\r\n<html><head><title>T</title><style>p{}</style></head><body><p>Hi&nbsp;&amp; welcome</p><!-- c --><script>x()</script><div>&#233;t&#xE9;</div></body></html>",
         "Hi & welcome été"),
        ("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n",
         "plain"),
        ("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nattached\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n--b--\r\n",
         "body"),
        ("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n", "Grüße"),
        ("Content-Type: image/png\r\n\r\n\u{89}PNG", ""),
        ("Content-Type: text/html\r\n\r\n<p>unterminated <b", "unterminated"),
    ]

    @Test(arguments: cases) func previews(_ message: String, _ expected: String) {
        #expect(MessageAnalysis.facts(bytes(message)).snippet == expected)
    }

    @Test func longBodiesAreCut() {
        let facts = MessageAnalysis.facts(bytes("Subject: x\r\n\r\n" + String(repeating: "word ", count: 10_000)))
        #expect(facts.snippet.count == Snippet.maxCharacters)
    }
}

@Suite struct AttachmentTests {
    static let message = bytes("""
        Subject: files\r
        Content-Type: multipart/mixed; boundary=b\r
        \r
        --b\r
        Content-Type: text/plain\r
        \r
        see attached\r
        --b\r
        Content-Type: application/pdf; name=report.pdf\r
        Content-Transfer-Encoding: base64\r
        \r
        YWJj\r
        --b\r
        Content-Type: text/plain\r
        Content-Disposition: attachment; filename*=UTF-8''%C3%A9t%C3%A9.txt\r
        \r
        abc\r
        --b\r
        Content-Type: image/png\r
        Content-ID: <logo>\r
        Content-Transfer-Encoding: base64\r
        \r
        iVBORw==\r
        --b--\r

        """)

    @Test func listsEveryFileWithItsDigest() {
        let attachments = MessageAnalysis.facts(Self.message).attachments
        #expect(attachments == [
            Attachment(sha256: SHA256.hex(bytes("abc")), content: bytes("abc"), contentType: "application/pdf", filename: "report.pdf"),
            Attachment(sha256: SHA256.hex(bytes("abc")), content: bytes("abc"), contentType: "text/plain", filename: "été.txt"),
            Attachment(sha256: SHA256.hex([0x89, 0x50, 0x4E, 0x47]), content: [0x89, 0x50, 0x4E, 0x47], contentType: "image/png", filename: nil),
        ])
    }

    @Test func plainMessagesHaveNone() {
        #expect(MessageAnalysis.facts(bytes("Subject: x\r\n\r\nhello\r\n")).attachments.isEmpty)
    }
}

@Suite struct BodyDigestAndHeadersTests {
    @Test func lineEndingsDoNotChangeTheDigest() {
        let crlf = MessageAnalysis.facts(bytes("Subject: x\r\n\r\nline 1\r\nline 2\r\n\r\n"))
        let lf = MessageAnalysis.facts(bytes("Subject: x\n\nline 1\nline 2\n"))
        #expect(crlf.bodySHA256 == lf.bodySHA256)
    }

    @Test func headersDoNotChangeTheDigest() {
        let relayed = MessageAnalysis.facts(bytes("Received: by us\r\nSubject: x\r\n\r\nbody\r\n"))
        let plain = MessageAnalysis.facts(bytes("Subject: x\r\n\r\nbody\r\n"))
        #expect(relayed.bodySHA256 == plain.bodySHA256)
    }

    @Test func differentBodiesDiffer() {
        #expect(MessageAnalysis.facts(bytes("Subject: x\r\n\r\na\r\n")).bodySHA256
                != MessageAnalysis.facts(bytes("Subject: x\r\n\r\nb\r\n")).bodySHA256)
    }

    @Test func headersBecomeJSONWithoutNUL() {
        let facts = MessageAnalysis.facts(bytes("Subject: =?UTF-8?B?w6k=?= \"q\"\r\nX-Bad: a\u{0}b\\c\r\n\r\n"))
        #expect(facts.headersJSON == #"[{"name":"Subject","value":"é \"q\""},{"name":"X-Bad","value":"a b\\c"}]"#)
    }
}

@Suite struct MailgateTraceTests {
    static let cases: [(String, [String])] = [
        // Our Received line inside a returned message/rfc822.
        ("Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nReceived: from x (y [1.2.3.4])\r\n\tby mail.example.test (mailgate) with ESMTPSA id 01JABCDEFGHJKMNPQ; Mon, 2 Mar 2026 10:00:00 +0000\r\nSubject: hi\r\n\r\nbody\r\n--b--\r\n",
         ["01JABCDEFGHJKMNPQ"]),
        // X-Mailgate-Queue-ID in returned headers (text/rfc822-headers).
        ("Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nX-Mailgate-Queue-ID: 01JABCDEFGHJKMNPR\r\nSubject: hi\r\n--b--\r\n",
         ["01JABCDEFGHJKMNPR"]),
        // Our own DSN's per-message field.
        ("Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\nX-Mailgate-Queue-ID: 01JABCDEFGHJKMNPS\r\n\r\nFinal-Recipient: rfc822; a@b\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n",
         ["01JABCDEFGHJKMNPS"]),
        // Quoted in a plain-text bounce.
        ("Subject: failure notice\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nReceived: from x\r\n  by mail.example.test (mailgate) with ESMTPA id 01JABCDEFGHJKMNPT;\r\n",
         ["01JABCDEFGHJKMNPT"]),
        // Our own inbound hop at the top is not a returned message.
        ("Received: from x by mx (mailgate) with ESMTP id 01JABCDEFGHJKMNPV;\r\nSubject: hello\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n", []),
        // Not a queue id: lower case, wrong length, forbidden letters.
        ("Subject: x\r\n\r\nby a (mailgate) with ESMTP id 01jabcdefghjkmnpq\r\nby a (mailgate) with ESMTP id 01JABC\r\nby a (mailgate) with ESMTP id 01JABCDEFGHIKLMNO\r\n", []),
    ]

    @Test(arguments: cases) func findsOurQueueIDs(_ message: String, _ expected: [String]) {
        #expect(MessageAnalysis.facts(bytes(message)).mailgateQueueIDs == expected)
    }
}

@Suite struct SoftBounceStreakTests {
    static func send(_ age: Int64, soft: Bool = false, delivered: Bool = false, hard: Bool = false) -> SentRecord {
        SentRecord(secondsSinceSent: age, softBounced: soft, delivered: delivered, hardBouncedOrComplained: hard)
    }

    static let day: Int64 = 86_400
    static let cases: [([SentRecord], Int)] = [
        ([], 0),
        ([send(60, soft: true)], 1),
        ([send(60, soft: true), send(day, soft: true), send(2 * day, soft: true)], 3),
        ([send(60, soft: true), send(day, soft: true, delivered: true), send(2 * day, soft: true)], 1),
        ([send(60, soft: true), send(day), send(2 * day, soft: true)], 2),                    // pending, skipped
        ([send(60, soft: true), send(4 * day), send(5 * day, soft: true)], 1),                // quiet: got through
        ([send(60, soft: true), send(day, hard: true), send(2 * day, soft: true)], 1),
        ([send(60), send(120, soft: true), send(180, soft: true), send(240, soft: true)], 3),
    ]

    @Test(arguments: cases) func counts(_ sends: [SentRecord], _ expected: Int) {
        #expect(SoftBounceStreak.count(sends) == expected)
    }
}

@Suite struct HostileMessageTests {
    static let inputs: [[UInt8]] = [
        [],
        bytes("\r\n\r\n"),
        [UInt8](repeating: 0, count: 10_000),
        [UInt8](repeating: 0xFF, count: 10_000),
        bytes("Subject: " + String(repeating: "=?UTF-8?B?", count: 10_000) + "\r\n\r\n"),
        bytes("Content-Type: multipart/mixed; boundary=b\r\n\r\n" + String(repeating: "--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n", count: 200)),
        bytes("References: " + String(repeating: "<", count: 100_000) + "\r\n\r\n"),
        bytes("Date: Thu, 13 Feb 9999999999999999999999 23:32:54 +0000\r\nIn-Reply-To: >>><<<\r\n\r\n"),
        bytes("Content-Type: text/html\r\n\r\n" + String(repeating: "<script>", count: 10_000) + String(repeating: "&#99999999999;", count: 1_000)),
        bytes("From: " + String(repeating: "(", count: 50_000) + "\r\n\r\n"),
    ]

    @Test(arguments: inputs.indices) func neverCrashesAndStaysBounded(_ index: Int) {
        let facts = MessageAnalysis.facts(Self.inputs[index])
        #expect(facts.snippet.count <= Snippet.maxCharacters && facts.references.count <= MessageIDs.maxCount
                && !facts.headersJSON.utf8.contains(0) && facts.bodySHA256.utf8.count == 64)
    }
}
