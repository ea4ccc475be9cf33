// Table-driven tests of the config's value syntaxes: durations, sizes, IP
// addresses, listen addresses, CIDR networks and membership, send_as patterns,
// upstream and web URLs, priorities and password hash shapes.
import MailCore
import Testing
@testable import Config

@Suite struct DurationTests {
    @Test(arguments: [
        ("30s", Duration.seconds(30)), ("5m", .seconds(300)), ("2h", .seconds(7200)), ("1d", .seconds(86400)),
        ("250ms", .milliseconds(250)), ("1h30m", .seconds(5400)), ("1m30s", .seconds(90)), ("0s", .zero),
        ("90m", .seconds(5400)), ("1s500ms", .milliseconds(1500)),
    ])
    func parses(text: String, expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    @Test(arguments: ["", "30", "abc", "s", "5 m", " 5m", "5m ", "-5m", "+5m", "1.5h", "5M", "5min", "1y",
                      "1w", "m5", "99999999999999999999s", "9223372036854775807d", "5mm"])
    func refuses(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test(arguments: [(Duration.seconds(30), "30s"), (.seconds(5400), "1h30m"), (.milliseconds(250), "250ms"),
                      (.zero, "0s"), (.seconds(86_400 + 1), "1d1s")])
    func renders(duration: Duration, text: String) {
        #expect(DurationText.render(duration) == text)
    }
}

@Suite struct ByteSizeTests {
    @Test(arguments: [("35M", 35 << 20), ("512K", 512 << 10), ("1G", 1 << 30), ("1024", 1024), ("0", 0),
                      ("2k", 2048), ("3m", 3 << 20), ("4g", 4 << 30)])
    func parses(text: String, bytes: Int) {
        #expect(ByteSize.parse(text) == ByteSize(bytes: bytes))
    }

    @Test(arguments: ["", "M", "35X", "35MB", "3.5M", "-1", "1 K", "99999999999999999999", "9999999999999G", "0x10"])
    func refuses(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test(arguments: [(35 << 20, "35M"), (1 << 30, "1G"), (1536, "1536"), (2048, "2K"), (0, "0")])
    func renders(bytes: Int, text: String) {
        #expect(ByteSize(bytes: bytes).description == text)
    }
}

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("127.0.0.1", [127, 0, 0, 1]), ("0.0.0.0", [0, 0, 0, 0]), ("255.255.255.255", [255, 255, 255, 255]),
        ("::1", [UInt8](repeating: 0, count: 15) + [1]), ("::", [UInt8](repeating: 0, count: 16)),
        ("2001:db8::1", [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]),
        ("::ffff:10.0.0.1", [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 1]),
        ("1:2:3:4:5:6:7:8", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]),
        ("FE80::A", [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [0x0a]),
    ] as [(String, [UInt8])])
    func parses(text: String, bytes: [UInt8]) {
        #expect(IPAddress.parse(text)?.bytes == bytes)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.1.1.1", "1.2.3.-4", "a.b.c.d", ":::", "1::2::3",
                      "1:2:3:4:5:6:7:8:9", "12345::", "fe80::1%eth0", "::g", "1:2:3:4:5:6:7::8:9", "[::1]",
                      "1.2.3.4::", "localhost", " 1.2.3.4"])
    func refuses(text: String) {
        #expect(IPAddress.parse(text) == nil)
    }

    @Test(arguments: [("2001:0db8:0:0:0:0:0:1", "2001:db8::1"), ("0:0:1:0:0:0:0:0", "0:0:1::"),
                      ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"), ("::", "::"),
                      ("10.0.0.1", "10.0.0.1")])
    func renders(text: String, canonical: String) {
        #expect(IPAddress.parse(text)?.description == canonical)
    }
}

@Suite struct SocketAddressSpecTests {
    @Test(arguments: [("127.0.0.1:587", "127.0.0.1", 587), ("[::1]:587", "::1", 587), ("0.0.0.0:25", "0.0.0.0", 25),
                      ("[2001:db8::5]:65535", "2001:db8::5", 65535)] as [(String, String, UInt16)])
    func parses(text: String, host: String, port: UInt16) {
        let spec = SocketAddressSpec.parse(text)
        #expect(spec?.host == host && spec?.port == port)
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "::1:587", "[::1]", "[::1]587",
                      "localhost:587", "[127.0.0.1]:587", "1.2.3.4:-1", "1.2.3.4:5x", ":587", "[::1]:+80"])
    func refuses(text: String) {
        #expect(SocketAddressSpec.parse(text) == nil)
    }

    @Test(arguments: ["127.0.0.1:587", "[::1]:587"])
    func roundTrips(text: String) {
        #expect(SocketAddressSpec.parse(text)?.description == text)
    }
}

@Suite struct CIDRTests {
    @Test(arguments: [("10.0.0.0/8", "10.0.0.0/8"), ("192.168.1.7", "192.168.1.7/32"), ("::1", "::1/128"),
                      ("fd00::/8", "fd00::/8"), ("0.0.0.0/0", "0.0.0.0/0"), ("::/0", "::/0")])
    func parses(text: String, canonical: String) {
        #expect(CIDR.parse(text)?.description == canonical)
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "10.0.0.1/8", "10.0.0.0/", "/8", "10.0.0.0/8/8", "10.0.0.0/-1",
                      "10.0.0.0/08x", "fd00::1/8", "example.test/8"])
    func refuses(text: String) {
        #expect(CIDR.parse(text) == nil)
    }

    @Test func masksHostBitsOnlyWhenAsked() {
        #expect(CIDR.parse("10.1.2.3/8", maskingHostBits: true)?.description == "10.0.0.0/8")
    }

    @Test(arguments: [
        ("10.0.0.0/8", [10, 200, 3, 4], true), ("10.0.0.0/8", [11, 0, 0, 0], false),
        ("192.168.1.0/24", [192, 168, 1, 255], true), ("192.168.1.0/24", [192, 168, 2, 0], false),
        ("172.16.0.0/12", [172, 31, 255, 255], true), ("172.16.0.0/12", [172, 32, 0, 0], false),
        ("0.0.0.0/0", [8, 8, 8, 8], true), ("127.0.0.1", [127, 0, 0, 1], true), ("127.0.0.1", [127, 0, 0, 2], false),
        ("10.0.0.0/8", [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 1, 1, 1], true),
        ("10.0.0.0/8", [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 11, 1, 1, 1], false),
        ("::ffff:10.0.0.0/104", [10, 9, 9, 9], true),
        ("fd00::/8", [0xfd, 0x12] + [UInt8](repeating: 0, count: 14), true),
        ("fd00::/8", [0xfc] + [UInt8](repeating: 0, count: 15), false),
        ("::1", [UInt8](repeating: 0, count: 15) + [1], true),
        ("::/0", [1, 2, 3, 4], true), ("10.0.0.0/8", [10, 0, 0], false),
        ("fd00::/8", [UInt8](repeating: 0, count: 16), false),
    ] as [(String, [UInt8], Bool)])
    func containment(network: String, address: [UInt8], expected: Bool) throws {
        let cidr = try #require(CIDR.parse(network))
        #expect(cidr.contains(address) == expected)
    }
}

@Suite struct SendAsPatternTests {
    @Test(arguments: [
        ("*@example.test", "anyone@example.test", true), ("*@example.test", "anyone@EXAMPLE.TEST", true),
        ("*@example.test", "a@sub.example.test", false), ("*@example.test", "a@example.testx", false),
        ("sales@example.test", "sales@Example.Test", true), ("sales@example.test", "Sales@example.test", false),
        ("sales@example.test", "sale@example.test", false), ("Sales@EXAMPLE.test", "Sales@example.TEST", true),
        ("*@example.test", "@example.test", false), ("*@example.test", "a@b@example.test", false),
        ("*@example.test", "", false), ("*@example.test", "<a@example.test>", false),
    ])
    func matches(pattern: String, address: String, expected: Bool) throws {
        let parsed = try #require(SendAsPattern(pattern))
        #expect(parsed.matches(address) == expected)
    }

    @Test(arguments: ["", "example.test", "@example.test", "sales@", "a*@example.test", "*@*.example.test",
                      "*@", "a@b@c.test", "a b@example.test", "a@exa mple.test", "a@-example.test", "a@example..test",
                      "<a@example.test>", "*"])
    func refuses(pattern: String) {
        #expect(SendAsPattern(pattern) == nil)
    }
}

@Suite struct UpstreamURLTests {
    @Test(arguments: [
        ("smtp://smtp.example.test", UpstreamURL.Scheme.smtp, "smtp.example.test", 587, UpstreamURL.Security.startTLS),
        ("smtps://smtp.example.test", .smtps, "smtp.example.test", 465, .implicitTLS),
        ("smtp+plain://127.0.0.1", .smtpPlain, "127.0.0.1", 25, .none),
        ("smtp+plain://127.0.0.1:2525", .smtpPlain, "127.0.0.1", 2525, .none),
        ("SMTP://Smtp.Example.Test:2587/", .smtp, "smtp.example.test", 2587, .startTLS),
        ("smtps://[2001:db8::1]:10465", .smtps, "2001:db8::1", 10465, .implicitTLS),
        ("imap://imap.example.test", .imap, "imap.example.test", 143, .startTLS),
        ("imaps://imap.example.test", .imaps, "imap.example.test", 993, .implicitTLS),
        ("imap+plain://[::1]:1143", .imapPlain, "::1", 1143, .none),
    ] as [(String, UpstreamURL.Scheme, String, UInt16, UpstreamURL.Security)])
    func parses(text: String, scheme: UpstreamURL.Scheme, host: String, port: UInt16,
                security: UpstreamURL.Security) throws {
        let url = try #require(UpstreamURL.parse(text))
        #expect(url == UpstreamURL(scheme: scheme, host: host, port: port) && url.security == security)
    }

    @Test(arguments: ["smtp.example.test", "http://smtp.example.test", "smtp://", "smtp://:25",
                      "smtp://user:pw@smtp.example.test", "smtp://smtp.example.test/path", "smtp://h:0",
                      "smtp://h:99999", "smtp://h?x=1", "smtp://[::1", "smtp://[nothost]:25", "smtp://a b",
                      "smtp://h:25:26", "lmtp://h"])
    func refuses(text: String) {
        #expect(UpstreamURL.parse(text) == nil)
    }

    @Test(arguments: [("smtp+plain://127.0.0.1", true), ("smtp+plain://127.8.9.1", true),
                      ("smtp+plain://[::1]", true), ("smtp+plain://localhost", true),
                      ("smtp+plain://10.0.0.1", false), ("smtp+plain://[::2]", false),
                      ("smtp+plain://localhost.example.test", false)])
    func loopback(text: String, expected: Bool) throws {
        #expect(try #require(UpstreamURL.parse(text)).isLoopback == expected)
    }

    @Test(arguments: [("https://crm.example.test/hook?x=1", true), ("http://127.0.0.1:8080/h", false),
                      ("HTTPS://mail.example.test", true)])
    func webURLs(text: String, https: Bool) {
        #expect(WebURL.parse(text)?.isHTTPS == https)
    }

    @Test(arguments: ["ftp://x", "https://", "https://user@host/", "https://a b/", "https://host:0/", "crm.example.test"])
    func refusesWebURLs(text: String) {
        #expect(WebURL.parse(text) == nil)
    }
}

@Suite struct PriorityAndHashTests {
    @Test func priorityOrderIsByUrgency() {
        #expect(MessagePriority.allCases.sorted(by: >) == [.critical, .high, .normal, .low, .bulk])
    }

    @Test(arguments: [(MessagePriority.critical, MessagePriority.high, MessagePriority.high), (.low, .high, .low), (.bulk, .bulk, .bulk)])
    func cappingIsMin(requested: MessagePriority, maximum: MessagePriority, granted: MessagePriority) {
        #expect(min(requested, maximum) == granted)
    }

    @Test(arguments: [Fixtures.yescryptHash, Fixtures.sha512Hash,
                      "$6$rounds=10000$saltsalt$" + String(repeating: "a", count: 86)])
    func acceptsCompleteHashes(hash: String) {
        #expect(PasswordHashFormat.problem(hash) == nil)
    }

    @Test(arguments: ["", "dev", "$y$j9T$...", "$6$salt$short", "$1$salt$hash", "$2b$10$abc",
                      "$y$j9T$salt$" + String(repeating: "!", count: 43), "y$j9T$salt$hash",
                      "$6$a$b$" + String(repeating: "a", count: 86)])
    func refusesOtherStrings(hash: String) {
        #expect(PasswordHashFormat.problem(hash) != nil)
    }
}
