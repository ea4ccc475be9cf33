// The operating keys: [server] user, the health-check interval and bounce-rate
// pause in [relay], and the [retention] horizons. Each valid spelling reads to
// its value; each invalid one is one error with file line and dotted key.
import Testing
@testable import Config

struct OperationsConfigTests {
    static let valueCases: [(text: String, check: @Sendable (MailgateConfig) -> Bool)] = [
        ("", { $0.relay.healthCheckInterval == .seconds(300) }),
        ("", { $0.relay.bounceRateThresholdPerMille == 50 }),
        ("", { $0.relay.bounceRateWindow == 200 }),
        ("", { $0.relay.bounceRateMinimumSends == 100 }),
        ("", { $0.server.user == nil }),
        ("", { $0.retention == RetentionConfig() }),
        ("", { $0.retention.events == .seconds(2557 * 86_400) }),
        ("\n[relay]\nhealth_check_interval = \"30s\"", { $0.relay.healthCheckInterval == .seconds(30) }),
        ("\n[relay]\nbounce_rate_threshold = \"2.5%\"", { $0.relay.bounceRateThresholdPerMille == 25 }),
        ("\n[relay]\nbounce_rate_threshold = \"0%\"", { $0.relay.bounceRateThresholdPerMille == 0 }),
        ("\n[relay]\nbounce_rate_threshold = \"100%\"", { $0.relay.bounceRateThresholdPerMille == 1000 }),
        ("\n[relay]\nbounce_rate_window = 50", { $0.relay.bounceRateMinimumSends == 50 }),
        ("\n[relay]\nbounce_rate_window = 500\nbounce_rate_minimum_sends = 20", { $0.relay.bounceRateMinimumSends == 20 }),
        ("\n[retention]\nraw_messages = \"90d\"", { $0.retention.rawMessages == .seconds(90 * 86_400) }),
        ("\n[retention]\nraw_messages = \"90d\"", { $0.retention.events == RetentionConfig.defaultHorizon }),
        ("\n[retention]\nevents = \"1h\"\nthreads = \"2d\"\nsent_queue = \"3d\"", { $0.retention.sentQueue == .seconds(3 * 86_400) }),
        ("\n[retention]\ninterval = \"10m\"\nbatch_size = 50", { $0.retention.batchSize == 50 }),
        ("\n[retention]\ninterval = \"10m\"", { $0.retention.interval == .seconds(600) }),
    ]

    @Test(arguments: 0..<valueCases.count)
    func valuesRead(index: Int) throws {
        let testCase = Self.valueCases[index]
        let config = try #require(Fixtures.config(Fixtures.base + testCase.text))
        #expect(testCase.check(config))
    }

    @Test func serverUserIsRead() {
        let text = Fixtures.base.replacingOccurrences(of: "hostname = \"mail.example.test\"",
                                                      with: "hostname = \"mail.example.test\"\nuser = \"mailgate\"")
        #expect(Fixtures.config(text)?.server.user == "mailgate")
    }

    static let percent = #"expected a percentage like "5%" or "2.5%""#
    static let userName = #"expected a system user name like "mailgate""#
    static let errorCases: [(String, Int, String, String)] = [
        ("\n[relay]\nbounce_rate_threshold = \"5\"", 15, "relay.bounce_rate_threshold", "\(percent), found string \"5\""),
        ("\n[relay]\nbounce_rate_threshold = \"101%\"", 15, "relay.bounce_rate_threshold", "\(percent), found string \"101%\""),
        ("\n[relay]\nbounce_rate_threshold = \"2.55%\"", 15, "relay.bounce_rate_threshold", "\(percent), found string \"2.55%\""),
        ("\n[relay]\nbounce_rate_threshold = \"+5%\"", 15, "relay.bounce_rate_threshold", "\(percent), found string \"+5%\""),
        ("\n[relay]\nbounce_rate_threshold = \"-1%\"", 15, "relay.bounce_rate_threshold", "\(percent), found string \"-1%\""),
        ("\n[relay]\nbounce_rate_threshold = \".5%\"", 15, "relay.bounce_rate_threshold", "\(percent), found string \".5%\""),
        ("\n[relay]\nbounce_rate_window = 0", 15, "relay.bounce_rate_window", "expected an integer from 1 to 1000000, found 0"),
        ("\n[relay]\nbounce_rate_window = 10\nbounce_rate_minimum_sends = 20", 16, "relay.bounce_rate_minimum_sends",
         "expected at most bounce_rate_window (10), found 20"),
        ("\n[relay]\nhealth_check_interval = \"0s\"", 15, "relay.health_check_interval", "expected a duration above zero, found \"0s\""),
        ("\n[retention]\nevents = \"7y\"", 15, "retention.events", #"expected a duration like "30s" or "5m", found string "7y""#),
        ("\n[retention]\nbatch_size = 0", 15, "retention.batch_size", "expected an integer from 1 to 100000, found 0"),
        ("\n[server]\nuser = \"Root Admin\"", 15, "server.user", "\(userName), found string \"Root Admin\""),
        ("\n[server]\nuser = \"1abc\"", 15, "server.user", "\(userName), found string \"1abc\""),
    ]

    @Test(arguments: 0..<errorCases.count)
    func errorsNamed(index: Int) {
        let (text, line, key, message) = Self.errorCases[index]
        let source = text.hasPrefix("\n[server]")
            ? Fixtures.base.replacingOccurrences(of: "[server]\nhostname = \"mail.example.test\"\n", with: "\n\n")
                + text.replacingOccurrences(of: "[server]\n", with: "[server]\nhostname = \"mail.example.test\"\n")
            : Fixtures.base + text
        let expectedLine = text.hasPrefix("\n[server]") ? line + 1 : line
        #expect(Fixtures.errors(source) == [ConfigError(file: "test.toml", line: expectedLine,
                                                         key: ConfigKeyPath(stringLiteral: key), message: message)])
    }
}
