// The shipped conf/mailgate.toml loads as is, with the values its comments
// promise, and the database URL override replaces [database] url.
import Foundation
import MailCore
import Testing
@testable import Config

enum Fixtures {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    static var shippedConfigPath: String {
        repositoryRoot.appendingPathComponent("conf/mailgate.toml").path
    }

    /// A yescrypt hash of "dev" (as in the shipped config).
    static let yescryptHash = "$y$j9T$IpyYxej7gd.UYYpljAIV31$FZSnCZAQdGnCjYbOuo6TFiaeQjGDY5G4IwBMuro4Zg0"
    static let sha512Hash = "$6$xXkjiyaYN/J0SMCc$6LDu4ha15Lic9BZx5kKsaJylXzSrewzRUMlbTkWGcKdu1YVPqBo/"
        + "1b7vUi0CiTX5z4XXh537NIbqg/wF3g8wo/"

    /// Thirteen lines; text appended after "\n" starts at line 14.
    static let base = """
        [server]
        hostname = "mail.example.test"

        [[account]]
        name = "sink"
        address = "sink@example.test"
        smtp = "smtp+plain://127.0.0.1:2525"

        [[user]]
        name = "dev"
        password_hash = "\(yescryptHash)"
        send_as = ["*@example.test"]
        accounts = ["sink"]
        """

    static func parse(_ text: String, override: String? = nil) -> Result<MailgateConfig, ConfigErrors> {
        ConfigLoader.parse(text: text, file: "test.toml", databaseURLOverride: override)
    }

    static func errors(_ text: String) -> [ConfigError] {
        switch parse(text) {
        case .success: return []
        case .failure(let errors): return errors.errors
        }
    }

    static func config(_ text: String, override: String? = nil) -> MailgateConfig? {
        try? parse(text, override: override).get()
    }
}

@Suite struct ShippedConfigTests {
    @Test func shippedConfigLoadsWithoutErrors() {
        let result = ConfigLoader.load(path: Fixtures.shippedConfigPath, databaseURLOverride: nil)
        if case .failure(let errors) = result { Issue.record("\(errors)") }
        #expect((try? result.get()) != nil)
    }

    @Test func shippedConfigHasTheDocumentedDevelopmentSetup() throws {
        let config = try ConfigLoader.load(path: Fixtures.shippedConfigPath, databaseURLOverride: nil).get()
        #expect(config.server.hostname == "mail.example.test")
        #expect(config.database.url == nil)
        #expect(config.submission.listen.map(\.description) == ["127.0.0.1:5587"])
        #expect(config.submission.listenTLS.map(\.description) == ["127.0.0.1:5465"])
        #expect(config.imap.listen.map(\.description) == ["127.0.0.1:5143"])
        #expect(config.imap.listenTLS.map(\.description) == ["127.0.0.1:5993"])
        #expect(config.metrics?.listen.description == "127.0.0.1:9187")
        #expect(config.tls == TLSConfig(certificate: "certs/server.crt", privateKey: "certs/server.key"))
        #expect(config.accounts.map(\.smtp) == [UpstreamURL(scheme: .smtpPlain, host: "127.0.0.1", port: 2525)])
        #expect(config.accounts.map(\.credential) == [.none])
        #expect(config.users.map(\.name) == ["dev"])
        #expect(config.users.first?.passwordHash.hasPrefix("$y$") == true)
        #expect(config.webhooks.isEmpty)
        #expect(config.unsubscribe == nil)
    }

    @Test func databaseOverrideReplacesTheShippedAbsentURL() throws {
        let url = "postgresql://mailgate@127.0.0.1:5433/mailgate"
        let config = try ConfigLoader.load(path: Fixtures.shippedConfigPath, databaseURLOverride: url).get()
        #expect(config.database.url == url)
    }

    @Test func databaseOverrideWinsOverTheFile() {
        let text = Fixtures.base + "\n[database]\nurl = \"postgresql://file@127.0.0.1/db\"\npool_size = 3"
        let config = Fixtures.config(text, override: "postgresql://env@10.0.0.1/db")
        #expect(config?.database == DatabaseConfig(url: "postgresql://env@10.0.0.1/db", poolSize: 3))
    }

    @Test func emptyOverrideLeavesTheFileValue() {
        let text = Fixtures.base + "\n[database]\nurl = \"host=/tmp dbname=mailgate\""
        #expect(Fixtures.config(text, override: "")?.database.url == "host=/tmp dbname=mailgate")
    }

    @Test func invalidOverrideIsReportedAgainstTheEnvironment() {
        let result = Fixtures.parse(Fixtures.base, override: "mysql://nope")
        let expected = ConfigError(file: "MAILGATE_DATABASE_URL", line: nil, key: "database.url",
                                   message: "expected \(Expected.databaseURL) in the environment")
        #expect(result.failureErrors == [expected])
    }

    @Test func defaultsApplyWhenSectionsAreAbsent() throws {
        let config = try #require(Fixtures.config(Fixtures.base))
        let expectedSubmission = SubmissionConfig(
            listen: [], listenTLS: [], maxMessageSize: ByteSize(bytes: 35 * 1024 * 1024), maxRecipients: 100,
            maxLineLength: 1000, maxConnectionsPerIP: 20, maxJunkCommands: 10, idleTimeout: .seconds(300),
            sessionTimeout: .seconds(1800), trustedNetworks: [], trustedUser: nil,
            authFailureDelay: .seconds(1), maxAuthFailures: 5)
        #expect(config.submission == expectedSubmission)
        #expect(config.server.drainTimeout == .seconds(30))
        #expect(config.database == DatabaseConfig(url: nil, poolSize: 8))
        #expect(config.relay == RelayConfig(retryAfter: [120, 240, 480, 960, 1920].map { .seconds($0) },
                                            lease: .seconds(300), connectTimeout: .seconds(30),
                                            commandTimeout: .seconds(300)))
        #expect(config.imap.idleTimeout == .seconds(1800))
        #expect(config.imap.upstreamPool == 2)
        #expect(config.tls == nil)
        #expect(config.metrics == nil)
    }

    @Test func accountDefaultsFollowTheAddress() throws {
        let account = try #require(Fixtures.config(Fixtures.base)?.accounts.first)
        #expect(account.sendAs == [.exact(localPart: "sink", domain: "example.test")])
        #expect(account.weight == 1)
        #expect(account.maxConnections == 2)
        #expect(account.limits == AccountLimits())
        #expect(account.username == nil)
    }

    @Test func userPriorityDefaultsToNormalAndMaxToPriority() throws {
        let user = try #require(Fixtures.config(Fixtures.base)?.users.first)
        #expect(user.priority == .normal)
        #expect(user.maxPriority == .normal)
    }

    @Test func fullAccountIsRead() throws {
        let directory = try TemporaryDirectory()
        let token = try directory.file("sales.token", mode: 0o600)
        let text = """
            [server]
            hostname = "mail.example.test"
            [[account]]
            name = "sales"
            address = "sales@example.test"
            send_as = ["sales@example.test", "*@sales.example.test"]
            smtp = "smtps://smtp.example.test"
            imap = "imaps://imap.example.test"
            oauth2_token_file = "\(token)"
            ca_file = "certs/ca.crt"
            weight = 3
            max_connections = 4
            limits = { per_minute = 20, per_day = 2000 }
            warmup = { started = 2026-11-01, daily = [500, 1000] }
            """
        let result = ConfigLoader.parse(text: text, file: "t.toml")
        let account = try #require(try result.get().accounts.first)
        #expect(account.smtp == UpstreamURL(scheme: .smtps, host: "smtp.example.test", port: 465))
        #expect(account.imap == UpstreamURL(scheme: .imaps, host: "imap.example.test", port: 993))
        #expect(account.credential == .oauth2TokenFile(token))
        #expect(account.username == "sales@example.test")
        #expect(account.caFile == "certs/ca.crt")
        #expect(account.weight == 3)
        #expect(account.maxConnections == 4)
        #expect(account.limits == AccountLimits(perMinute: 20, perHour: nil, perDay: 2000))
        #expect(account.warmup == WarmupPlan(started: CalendarDate(year: 2026, month: 11, day: 1),
                                             dailyPerWeek: [500, 1000]))
        #expect(account.maySendAs(MailboxAddress(localPart: "bob", domain: "SALES.example.test")))
        #expect(!account.maySendAs(MailboxAddress(localPart: "bob", domain: "example.test")))
    }

    @Test(arguments: [(0, 500), (6, 500), (7, 1000), (13, 1000), (14, nil), (-3, 500)] as [(Int, Int?)])
    func warmupCapByAge(age: Int, cap: Int?) {
        let plan = WarmupPlan(started: CalendarDate(year: 2026, month: 11, day: 1), dailyPerWeek: [500, 1000])
        #expect(plan.dailyCap(ageInDays: age) == cap)
    }
}

extension Result where Failure == ConfigErrors {
    var failureErrors: [ConfigError] {
        switch self {
        case .success: return []
        case .failure(let errors): return errors.errors
        }
    }
}
