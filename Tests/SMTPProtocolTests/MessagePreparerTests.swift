// MessagePreparer: Received header per protocol type (RFC 3848/6531), Message-ID added only when
// missing, X-Mailgate-Priority fields removed (any case, folded, repeated), priority settled and
// capped, and the body byte-identical. Also the header field splitter and priority mapping.

import Testing
import MailCore
@testable import SMTPProtocol

private let when: Int64 = 1_700_000_000  // Tue, 14 Nov 2023 22:13:20 +0000

private func envelope(recipients: [String] = ["bob@example.org"], authenticated: Bool = true, overTLS: Bool = true,
                      smtpUTF8: Bool = false, extendedHello: Bool = true, mtPriority: Int? = nil,
                      user: SMTPUserIdentity = alice) -> SMTPEnvelope {
    SMTPEnvelope(sender: MailboxAddress(localPart: "alice", domain: "example.test"),
                 recipients: recipients.map {
                     let at = $0.lastIndex(of: "@") ?? $0.endIndex
                     return SMTPRecipient(address: MailboxAddress(localPart: String($0[..<at]), domain: String($0[$0.index(after: at)...])))
                 },
                 smtpUTF8: smtpUTF8, mtPriority: mtPriority, user: user, authenticated: authenticated,
                 heloName: "laptop.local", extendedHello: extendedHello, overTLS: overTLS)
}

private let context = ReceivedContext(clientAddress: "192.0.2.7", clientHostname: "host.example.net",
                                      tlsVersion: "TLSv1.3", tlsCipher: "TLS_AES_256_GCM_SHA384")

private func prepare(_ message: String, _ env: SMTPEnvelope = envelope()) -> PreparedMessage {
    var random = SplitMix64(state: 42)
    return MessagePreparer.prepare(bytes(message), envelope: env, context: context, hostname: "mx.example.test",
                                   queueID: "Q42", date: when, random: &random)
}

private func text(_ prepared: PreparedMessage) -> String { String(decoding: prepared.bytes, as: UTF8.self) }

@Suite struct MessagePreparerTests {
    @Test func receivedHeaderForAuthenticatedTLS() {
        let prepared = prepare("Message-ID: <a@b>\r\nFrom: alice@example.test\r\n\r\nhi\r\n")
        let expected: [String] = [
            "Received: from laptop.local (host.example.net [192.0.2.7])\r\n",
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n",
            "\t(authenticated as alice)\r\n",
            "\tby mx.example.test (mailgate) with ESMTPSA id Q42\r\n",
            "\tfor <bob@example.org>; Tue, 14 Nov 2023 22:13:20 +0000\r\n",
            "Message-ID: <a@b>\r\n",
        ]
        let prefix = expected.joined()
        #expect(text(prepared).hasPrefix(prefix))
    }

    static let protocolCases: [(authenticated: Bool, tls: Bool, utf8: Bool, ehlo: Bool, expected: String)] = [
        (true, true, false, true, "ESMTPSA"), (false, true, false, true, "ESMTPS"), (true, false, false, true, "ESMTPA"),
        (false, false, false, true, "ESMTP"), (true, true, true, true, "UTF8SMTPSA"), (false, false, true, true, "UTF8SMTP"),
        (false, false, false, false, "SMTP"),
    ]

    @Test(arguments: protocolCases)
    func protocolType(_ testCase: (authenticated: Bool, tls: Bool, utf8: Bool, ehlo: Bool, expected: String)) {
        let env = envelope(authenticated: testCase.authenticated, overTLS: testCase.tls, smtpUTF8: testCase.utf8,
                           extendedHello: testCase.ehlo)
        #expect(MessagePreparer.protocolType(env) == testCase.expected)
    }

    @Test func severalRecipientsAreNotNamed() {
        let header = MessagePreparer.receivedHeader(envelope: envelope(recipients: ["a@x.test", "b@x.test"]), context: context,
                                                    hostname: "mx.example.test", queueID: "Q", date: when)
        #expect(!header.contains("for <"))
    }

    @Test func clientTextCannotBreakTheHeader() {
        var env = envelope()
        env.heloName = "evil) (authenticated as root; x"
        let header = MessagePreparer.receivedHeader(envelope: env, context: ReceivedContext(clientAddress: "1.2.3.4"),
                                                    hostname: "mx", queueID: "Q", date: when)
        #expect(header.hasPrefix("Received: from evil___authenticated_as_root__x ([1.2.3.4])\r\n"))
    }

    @Test func messageIDAddedWhenMissing() {
        let prepared = prepare("From: alice@example.test\r\n\r\nhi\r\n")
        #expect(prepared.addedMessageID)
        #expect(prepared.messageID.hasSuffix("@mx.example.test>"))
        #expect(prepared.messageID.count == 26 + 2 + "@mx.example.test".count)
        #expect(text(prepared).contains("\r\nMessage-ID: \(prepared.messageID)\r\nFrom: alice@example.test\r\n"))
    }

    @Test func messageIDKeptWhenPresentInAnyCase() {
        let prepared = prepare("message-id:  <keep@client>\r\nFrom: alice@example.test\r\n\r\nhi\r\n")
        #expect(!prepared.addedMessageID)
        #expect(prepared.messageID == "<keep@client>")
        #expect(text(prepared).ranges(of: "essage-").count == 1)
    }

    @Test func emptyMessageIDIsReplaced() {
        let prepared = prepare("Message-ID:\r\nFrom: alice@example.test\r\n\r\nhi\r\n")
        #expect(prepared.addedMessageID)
        #expect(text(prepared).ranges(of: "Message-ID:").count == 1)
    }

    @Test func randomMessageIDsDiffer() {
        var random = SplitMix64(state: 1)
        let first = MessagePreparer.randomToken(&random)
        let second = MessagePreparer.randomToken(&random)
        #expect(first != second)
    }

    static let priorityHeaders: [(String, MessagePriority)] = [
        ("X-Mailgate-Priority: high\r\n", .high),
        ("x-mailgate-priority: HIGH\r\n", .high),
        ("X-Mailgate-Priority:\r\n  low\r\n", .low),
        ("X-Mailgate-Priority: bulk\r\nX-Mailgate-Priority: high\r\n", .bulk),
        ("X-Mailgate-Priority: critical\r\n", .high),  // capped at alice's max
        ("X-Mailgate-Priority: urgent!\r\n", .normal),  // unknown value: default
    ]

    @Test(arguments: priorityHeaders)
    func priorityHeaderIsReadAndRemoved(_ testCase: (String, MessagePriority)) {
        let body = "Body line 1\r\nX-Mailgate-Priority: in the body stays\r\n"
        let original = "From: alice@example.test\r\n" + testCase.0 + "Subject: s\r\n\r\n" + body
        let prepared = prepare(original)
        #expect(prepared.priority == testCase.1)
        #expect(text(prepared).hasSuffix("From: alice@example.test\r\nSubject: s\r\n\r\n" + body))
    }

    @Test func bodyIsByteIdentical() {
        var body: [UInt8] = bytes("\r\n")
        for value in 0...255 where value != 13 && value != 10 { body.append(UInt8(value)) }
        body += bytes("\r\n..\r\n.\r\nFrom: fake@x\r\nX-Mailgate-Priority: high\r\n")
        let message = bytes("From: alice@example.test\r\nX-Mailgate-Priority: low\r\n") + body
        var random = SplitMix64(state: 7)
        let prepared = MessagePreparer.prepare(message, envelope: envelope(), context: context, hostname: "mx",
                                               queueID: "Q", date: when, random: &random)
        #expect(Array(prepared.bytes.suffix(body.count)) == body)
        #expect(prepared.priority == .low)
    }

    @Test func headerOnlyMessageWithoutBlankLine() {
        let prepared = prepare("From: alice@example.test\r\nX-Mailgate-Priority: high")
        #expect(text(prepared).hasSuffix("From: alice@example.test\r\n"))
        #expect(prepared.priority == .high)
    }

    static let settleCases: [(mt: Int?, header: MessagePriority?, user: SMTPUserIdentity, expected: MessagePriority)] = [
        (nil, nil, alice, .normal), (nil, nil, appUser, .low), (9, nil, alice, .high), (9, nil, appUser, .critical),
        (-9, nil, alice, .bulk), (0, nil, appUser, .normal), (3, .bulk, alice, .bulk), (-5, .critical, appUser, .critical),
        (nil, .critical, alice, .high),
    ]

    @Test(arguments: settleCases)
    func settlePriority(_ testCase: (mt: Int?, header: MessagePriority?, user: SMTPUserIdentity, expected: MessagePriority)) {
        #expect(MessagePreparer.settlePriority(user: testCase.user, mtPriority: testCase.mt, headerRequest: testCase.header)
                == testCase.expected)
    }

    static let mtMapping: [(Int, MessagePriority)] = [
        (-9, .bulk), (-5, .bulk), (-4, .low), (-1, .low), (0, .normal), (1, .high), (4, .high), (5, .critical), (9, .critical),
    ]

    @Test(arguments: mtMapping)
    func mtPriorityMapping(_ testCase: (Int, MessagePriority)) {
        #expect(MessagePriority(mtPriority: testCase.0) == testCase.1)
    }

    @Test func envelopeMTPriorityUsedWithoutHeader() {
        let prepared = prepare("From: alice@example.test\r\n\r\nhi\r\n", envelope(mtPriority: -7))
        #expect(prepared.priority == .bulk)
    }
}

@Suite struct HeaderParsingTests {
    @Test func foldedFieldsAndHeaderEnd() {
        let message = bytes("A: 1\r\nB: 2\r\n 3\r\n\tfour\r\nC:\r\n\r\nbody: not a header\r\n")
        let (fields, end) = MessageHeaders.fields(in: message)
        #expect(fields.map(\.name) == ["a", "b", "c"])
        #expect(MessageHeaders.unfoldedValue(fields[1], in: message) == bytes(" 2 3\tfour"))
        #expect(Array(message[end...]) == bytes("\r\nbody: not a header\r\n"))
    }

    @Test func nonHeaderLineEndsTheHeader() {
        let (fields, _) = MessageHeaders.fields(in: bytes("From: a@b.test\r\nthis is body\r\nTo: c@d.test\r\n"))
        #expect(fields.map(\.name) == ["from"])
    }

    static let fromValues: [(String, [String]?)] = [
        ("a@b.test", ["a@b.test"]),
        ("\"Doe, J\" <j@b.test>, k@b.test", ["j@b.test", "k@b.test"]),
        ("<\"j d\"@b.test>", ["\"j d\"@b.test"]),
        ("J (comment (nested)) <j@b.test>", ["j@b.test"]),
        ("grp: a@b.test, c@d.test;, e@f.test", ["a@b.test", "c@d.test", "e@f.test"]),
        ("j@[192.0.2.1]", ["j@[192.0.2.1]"]),
        ("<j@b.test", nil),
        ("j@", nil),
        ("j@b.test>", nil),
    ]

    @Test(arguments: fromValues)
    func addressLists(_ testCase: (String, [String]?)) {
        #expect(AddressListParser.parse(bytes(testCase.0)[...])?.map(\.description) == testCase.1)
    }
}
