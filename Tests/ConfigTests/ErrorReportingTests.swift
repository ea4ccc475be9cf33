// Each broken config gives exactly the expected errors: line, dotted key and
// message. Fixtures.base is thirteen valid lines; text appended with "\n"
// starts at line 14. Several errors in one file are all reported, in order.
import Foundation
import Testing
@testable import Config

struct ErrorCase: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var expected: [(line: Int?, key: String, message: String)]
    var testDescription: String { name }

    init(_ name: String, _ text: String, _ expected: [(line: Int?, key: String, message: String)]) {
        self.name = name
        self.text = text
        self.expected = expected
    }

    var expectedErrors: [ConfigError] {
        expected.map { ConfigError(file: "test.toml", line: $0.line, key: ConfigKeyPath(stringLiteral: $0.key),
                                   message: $0.message) }
    }
}

private let base = Fixtures.base
private let submissionKeys = "auth_failure_delay, idle_timeout, listen, listen_tls, max_auth_failures, "
    + "max_connections_per_ip, max_junk_commands, max_line_length, max_message_size, max_recipients, "
    + "session_timeout, trusted_networks, trusted_user"
private let durationExpected = #"expected a duration like "30s" or "5m""#
private let sizeExpected = #"expected a size like "35M", "512K", "1G" or a number of bytes"#
private let networkExpected = #"expected a network like "10.0.0.0/8" or "fd00::/8""#
private func replacing(_ old: String, _ new: String) -> String {
    base.replacingOccurrences(of: old, with: new)
}

private let cases: [ErrorCase] = [
    ErrorCase("mistyped key", base + "\n[submission]\nmax_recipents = 5", [
        (15, "submission.max_recipents",
         "unknown key (known keys: \(submissionKeys)); did you mean \"max_recipients\"?"),
    ]),
    ErrorCase("unknown table", base + "\n[submision]\nlisten = []", [
        (14, "submision",
         "unknown key (known keys: account, database, imap, inbound, metrics, relay, retention, server, submission, "
            + "tls, unsubscribe, user, webhook); did you mean \"submission\"?"),
    ]),
    ErrorCase("wrong type", base + "\n[submission]\nmax_recipients = \"100\"", [
        (15, "submission.max_recipients", "expected an integer from 1 to 100000, found string \"100\""),
    ]),
    ErrorCase("out of range", base + "\n[submission]\nmax_line_length = 512", [
        (15, "submission.max_line_length", "expected an integer from 1000 to 1048576, found 512"),
    ]),
    ErrorCase("missing required key", replacing("hostname = \"mail.example.test\"", "drain_timeout = \"10s\""), [
        (1, "server.hostname", #"missing required key (expected a host name like "mail.example.test")"#),
    ]),
    ErrorCase("missing server table", replacing("[server]\nhostname = \"mail.example.test\"\n", "\n\n"), [
        (nil, "server.hostname",
         #"missing required key (expected a host name like "mail.example.test" in a [server] table)"#),
    ]),
    ErrorCase("bad duration", base + "\n[submission]\nidle_timeout = \"abc\"", [
        (15, "submission.idle_timeout", durationExpected + #", found string "abc""#),
    ]),
    ErrorCase("duration without unit", base + "\n[submission]\nidle_timeout = 30", [
        (15, "submission.idle_timeout", durationExpected + ", found integer 30 (a duration needs a unit)"),
    ]),
    ErrorCase("zero duration", base + "\n[submission]\nsession_timeout = \"0s\"", [
        (15, "submission.session_timeout", #"expected a duration above zero, found "0s""#),
    ]),
    ErrorCase("bad size", base + "\n[submission]\nmax_message_size = \"35X\"", [
        (15, "submission.max_message_size", sizeExpected + #", found string "35X""#),
    ]),
    ErrorCase("tiny size", base + "\n[submission]\nmax_message_size = 10", [
        (15, "submission.max_message_size", "expected a size of at least 1K, found 10"),
    ]),
    ErrorCase("bad CIDR", base + "\n[submission]\ntrusted_networks = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n"
        + "trusted_user = \"dev\"", [
        (15, "submission.trusted_networks[1]", networkExpected + #", found string "10.0.0.0/33""#),
    ]),
    ErrorCase("CIDR with host bits", base + "\n[submission]\ntrusted_networks = [\"10.1.2.3/8\"]\n"
        + "trusted_user = \"dev\"", [
        (15, "submission.trusted_networks[0]",
         networkExpected + #", found string "10.1.2.3/8" (host bits set; did you mean "10.0.0.0/8"?)"#),
    ]),
    ErrorCase("trusted networks without user", base + "\n[submission]\ntrusted_networks = [\"::1/128\"]", [
        (14, "submission.trusted_user",
         "missing required key (expected the name of a [[user]] that mail from trusted_networks is sent as)"),
    ]),
    ErrorCase("trusted user unknown", base + "\n[submission]\ntrusted_networks = [\"::1\"]\ntrusted_user = \"ops\"", [
        (16, "submission.trusted_user", #"no [[user]] is named "ops" (defined: dev)"#),
    ]),
    ErrorCase("user refers to unknown account", replacing(#"accounts = ["sink"]"#, #"accounts = ["sink", "nope"]"#), [
        (13, "user[0].accounts[1]", #"no [[account]] is named "nope" (defined: sink)"#),
    ]),
    ErrorCase("account listed twice", replacing(#"accounts = ["sink"]"#, #"accounts = ["sink", "sink"]"#), [
        (13, "user[0].accounts[1]", #"account "sink" is listed twice"#),
    ]),
    ErrorCase("imap account without imap", base + "\nimap_account = \"sink\"", [
        (14, "user[0].imap_account", #"account "sink" has no imap URL"#),
    ]),
    ErrorCase("max priority below priority", base + "\npriority = \"high\"\nmax_priority = \"low\"", [
        (15, "user[0].max_priority", #"max_priority "low" is below priority "high""#),
    ]),
    ErrorCase("unknown priority", base + "\npriority = \"urgent\"", [
        (14, "user[0].priority",
         #"expected one of "critical", "high", "normal", "low", "bulk", found string "urgent""#),
    ]),
    ErrorCase("bad password hash", replacing(Fixtures.yescryptHash, "$1$abc$def"), [
        (11, "user[0].password_hash",
         #"expected a crypt(3) hash starting with "$y$" (yescrypt) or "$6$" (SHA-512-crypt), "#
            + #"as printed by "mailgate passwd", found a string starting with "$1$""#),
    ]),
    ErrorCase("placeholder password hash", replacing(Fixtures.yescryptHash, "$y$j9T$..."), [
        (11, "user[0].password_hash",
         #"expected a crypt(3) hash starting with "$y$" (yescrypt) or "$6$" (SHA-512-crypt), "#
            + #"as printed by "mailgate passwd", found an incomplete "$y$" hash "#
            + #"(it has "$y$params$salt$digest", 43 digest characters)"#),
    ]),
    ErrorCase("duplicate account", base + "\n[[account]]\nname = \"sink\"\naddress = \"b@example.test\"\n"
        + "smtp = \"smtp://smtp.example.test\"", [
        (15, "account[1].name", #"duplicate account name "sink" (first defined at line 5)"#),
    ]),
    ErrorCase("clear text to a remote host", replacing("smtp+plain://127.0.0.1:2525", "smtp+plain://smtp.example.test"), [
        (7, "account[0].smtp",
         "smtp+plain:// sends in clear text and is allowed only to a loopback address (127.0.0.1, ::1, localhost); "
            + "use smtp:// or smtps://"),
    ]),
    ErrorCase("credentials in URL", replacing("smtp+plain://127.0.0.1:2525", "smtp://u:p@smtp.example.test"), [
        (7, "account[0].smtp",
         #"expected an SMTP URL like "smtp://smtp.example.test:587" (smtp://, smtps:// or smtp+plain://), "#
            + #"found string "smtp://u:p@smtp.example.test" "#
            + "(credentials do not belong in the URL: use username and password_file)"),
    ]),
    ErrorCase("inline table key", replacing("smtp = \"smtp+plain://127.0.0.1:2525\"",
                                            "smtp = \"smtp+plain://127.0.0.1:2525\"\nlimits = { per_hour = \"x\" }"), [
        (8, "account[0].limits.per_hour", #"expected an integer from 1 to 1000000000, found string "x""#),
    ]),
    ErrorCase("typo inside inline table", replacing("smtp = \"smtp+plain://127.0.0.1:2525\"",
                                                    "smtp = \"smtp+plain://127.0.0.1:2525\"\nlimits = { per_hr = 5 }"), [
        (8, "account[0].limits.per_hr",
         "unknown key (known keys: per_day, per_hour, per_minute); did you mean \"per_hour\"?"),
    ]),
    ErrorCase("unknown array of tables", base + "\n[[acount]]\nname = \"x\"", [
        (14, "acount",
         "unknown key (known keys: account, database, imap, inbound, metrics, relay, retention, server, submission, "
            + "tls, unsubscribe, user, webhook); did you mean \"account\"?"),
    ]),
    ErrorCase("password file and token together", replacing("smtp = \"smtp+plain://127.0.0.1:2525\"",
        "smtp = \"smtp+plain://127.0.0.1:2525\"\npassword_file = \"p\"\noauth2_token_file = \"t\""), [
        (9, "account[0].oauth2_token_file", "password_file and oauth2_token_file exclude each other: keep one"),
    ]),
    ErrorCase("second account", base + "\n[[account]]\nname = \"b\"\naddress = \"b@example.test\"\n"
        + "smtp = \"smtps://[2001:db8::1]\"\n\nlimits.per_day = 0", [
        (19, "account[1].limits.per_day", "expected an integer from 1 to 1000000000, found 0"),
    ]),
    ErrorCase("multi-line array element", base + "\n[relay]\nretry_after = [\n  \"1m\",\n  \"5x\",\n]", [
        (17, "relay.retry_after[1]", #"expected a duration like "2m", found string "5x""#),
    ]),
    ErrorCase("username without credentials", replacing("name = \"sink\"", "name = \"sink\"\nusername = \"u\""), [
        (6, "account[0].username", "username has no effect without password_file, oauth2_token_file or oauth2"),
    ]),
    ErrorCase("listener used twice", base + "\n[submission]\nlisten = [\"127.0.0.1:5587\"]\n"
        + "listen_tls = [\"127.0.0.1:5587\"]\n[tls]\ncertificate = \"c\"\nprivate_key = \"/nonexistent/k\"", [
        (16, "submission.listen_tls[0]", "127.0.0.1:5587 is already used by submission.listen[0]"),
    ]),
    ErrorCase("listeners need tls", base + "\n[imap]\nlisten_tls = [\"[::1]:5993\"]", [
        (nil, "tls", "missing table [tls] with certificate and private_key "
            + "(submission and IMAP listeners offer AUTH and LOGIN only after TLS)"),
    ]),
    ErrorCase("upstream pool out of range", base + "\n[imap]\nupstream_pool = 65", [
        (15, "imap.upstream_pool", "expected an integer from 0 to 64, found 65"),
    ]),
    ErrorCase("bad listen address", base + "\n[imap]\nlisten = [\"localhost:143\"]", [
        (15, "imap.listen[0]", #"expected an address like "127.0.0.1:587" or "[::1]:587", found string "localhost:143""#),
    ]),
    ErrorCase("warmup date quoted", replacing("smtp = \"smtp+plain://127.0.0.1:2525\"",
        "smtp = \"smtp+plain://127.0.0.1:2525\"\nwarmup = { started = \"2026-11-01\", daily = [500] }"), [
        (8, "account[0].warmup.started",
         #"expected a date like 2026-11-01 (unquoted), found string "2026-11-01""#),
    ]),
    ErrorCase("webhook event unknown", base + "\n[[webhook]]\nurl = \"https://crm.example.test/h\"\n"
        + "events = [\"sent\", \"bounced\"]", [
        (16, "webhook[0].events[1]",
         "expected an event name (" + WebhookConfig.knownEvents.joined(separator: ", ")
            + #"), found string "bounced""#),
    ]),
    ErrorCase("unsubscribe needs https", base + "\n[unsubscribe]\nlisten = \"127.0.0.1:8025\"\n"
        + "public_url = \"http://mail.example.test/u\"\nsecret_file = \"/nonexistent/u\"", [
        (16, "unsubscribe.public_url",
         #"expected an https:// URL like "https://mail.example.test/u", found string "http://mail.example.test/u""#),
        (17, "unsubscribe.secret_file",
         #"secret file "/nonexistent/u" does not exist (relative paths start at the working directory)"#),
    ]),
    ErrorCase("inbound without domains", base + "\n[inbound]\nlisten = [\"127.0.0.1:2525\"]", [
        (14, "inbound.domains", "missing required key (expected the list of domains inbound mail is accepted for)"),
    ]),
    ErrorCase("TOML syntax error", base + "\n[submission\nlisten = []", [
        (14, "", "TOML syntax error: Error while parsing table header: expected ']', saw '\\n'"),
    ]),
    ErrorCase("header toml++ would assert on", base + "\n[[[x]]", [
        (14, "", "TOML syntax error: expected a key in the table header"),
    ]),
    ErrorCase("array value toml++ would assert on", base + "\n[relay]\nretry_after = [}]", [
        (15, "", "TOML syntax error: expected a value or ']' in the array, found '}'"),
    ]),
    ErrorCase("nesting too deep", base + "\n[relay]\nretry_after = " + String(repeating: "[", count: 100_000), [
        (15, "", "TOML syntax error: values nested deeper than 64"),
    ]),
    ErrorCase("several errors at once", base.replacingOccurrences(of: "\"mail.example.test\"", with: "42")
        + "\n[submission]\nmax_recipents = 5\nidle_timeout = \"soon\"\n[relay]\nlease = \"1y\"", [
        (2, "server.hostname", #"expected a host name like "mail.example.test", found integer 42"#),
        (15, "submission.max_recipents",
         "unknown key (known keys: \(submissionKeys)); did you mean \"max_recipients\"?"),
        (16, "submission.idle_timeout", durationExpected + #", found string "soon""#),
        (18, "relay.lease", durationExpected + #", found string "1y""#),
    ]),
]

@Suite struct ErrorReportingTests {
    @Test(arguments: cases)
    func reportsExactlyTheExpectedErrors(_ testCase: ErrorCase) {
        #expect(Fixtures.errors(testCase.text) == testCase.expectedErrors)
    }

    /// Byte mutations (replace, insert, delete) of valid configs never crash the loader
    /// (toml++ asserts on some inputs: see LineIndex), and every error points inside the file.
    /// CONFIG_FUZZ_SEED and CONFIG_FUZZ_ITERATIONS run it longer.
    @Test(arguments: [
        base + "\n[submission]\nlisten = [\"127.0.0.1:5587\"]\n[relay]\nlease = \"5m\"",
        (try? String(contentsOfFile: Fixtures.shippedConfigPath, encoding: .utf8)) ?? "",
        base + "\n[relay]\nretry_after = [\n  \"1m\", # one\n  \"2m\",\n]\n[[webhook]]\nurl = \"https://h/\"\n"
            + "events = ['sent']\n[[account]]\nlimits = { per_day = 1, per_hour = 2 }\nwarmup.daily = [1, 2]\n"
            + "x = \"\"\"\n[a]\n\"\"\"",
    ])
    func mutatedConfigsGiveErrorsWithinTheFile(original text: String) {
        let seed = UInt64(ProcessInfo.processInfo.environment["CONFIG_FUZZ_SEED"] ?? "") ?? 7
        let iterations = Int(ProcessInfo.processInfo.environment["CONFIG_FUZZ_ITERATIONS"] ?? "") ?? 300
        var generator = SplitMix(seed: seed)
        let original = Array(text.utf8)
        let alphabet = Array("[]{}=\"'#,.\n\\ az09:/*@$-_+\t\r".utf8)
        var outOfRange: [ConfigError] = []
        for _ in 0..<iterations {
            var bytes = original
            for _ in 0..<Int(1 + generator.next() % 6) {
                let position = Int(generator.next() % UInt64(bytes.count))
                let byte = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                switch generator.next() % 3 {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                default: if bytes.count > 1 { bytes.remove(at: position) }
                }
            }
            let lineCount = bytes.filter { $0 == UInt8(ascii: "\n") }.count + 1
            let errors = Fixtures.errors(String(decoding: bytes, as: UTF8.self))
            outOfRange += errors.filter { error in
                guard let line = error.line else { return false }
                return line < 1 || line > lineCount
            }
        }
        #expect(outOfRange == [])
    }

    @Test func descriptionNamesFileLineKeyAndMessage() {
        let error = ConfigError(file: "conf/mailgate.toml", line: 12, key: "submission.max_recipents",
                                message: "unknown key (known keys: listen)")
        #expect(error.description == "conf/mailgate.toml:12: submission.max_recipents: unknown key (known keys: listen)")
    }

    @Test func descriptionWithoutLineOrKey() {
        let error = ConfigError(file: "conf/mailgate.toml", line: nil, key: ConfigKeyPath(), message: "cannot read")
        #expect(error.description == "conf/mailgate.toml: cannot read")
    }

    @Test func errorsAreSortedByLineAndRenderedOnePerLine() {
        let errors = ConfigErrors([
            ConfigError(file: "f", line: 9, key: "b", message: "two"),
            ConfigError(file: "f", line: 3, key: "a", message: "one"),
        ])
        #expect(errors.description == "f:3: a: one\nf:9: b: two")
    }

    @Test func unreadableFileIsOneError() {
        let result = ConfigLoader.load(path: "/nonexistent/mailgate.toml")
        #expect(result.failureErrors == [ConfigError(file: "/nonexistent/mailgate.toml", line: nil, key: ConfigKeyPath(),
                                                     message: "cannot read the config file: No such file or directory")])
    }

    @Test func nulByteIsRefusedWithItsLine() {
        #expect(Fixtures.errors(base + "\n# x\u{0}y") == [ConfigError(file: "test.toml", line: 14, key: ConfigKeyPath(),
                                                                      message: "the file contains a NUL byte")])
    }

    @Test func invalidUTF8IsRefusedWithItsLine() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/bad.toml"
        var bytes = Array((base + "\n# ").utf8)
        bytes.append(0xff)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        #expect(ConfigLoader.load(path: path).failureErrors == [
            ConfigError(file: path, line: 14, key: ConfigKeyPath(), message: "the file is not valid UTF-8"),
        ])
    }
}
