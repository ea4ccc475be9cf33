// [[webhook]] entries: defaults, the keys added for delivery (name, ca_file,
// timeout, retry_min, retry_max, retry_for), the "received" event, the URL
// parts the HTTP client uses, and each refusal with its line and key.
import Testing
@testable import Config

private let hook = Fixtures.base + "\n[[webhook]]\nurl = \"https://crm.example.test:8443/h?x=1#frag\"\nevents = [\"sent\", \"received\"]\n"

@Suite struct WebhookConfigTests {
    @Test func defaultsApplyWhenOnlyURLAndEventsAreGiven() throws {
        let webhook = try #require(Fixtures.config(hook)?.webhooks.first)
        #expect(webhook.name == "https://crm.example.test:8443/h?x=1#frag")
        #expect(webhook.events == ["sent", "received"])
        #expect(webhook.timeout == WebhookConfig.defaultTimeout)
        #expect(webhook.retryMin == WebhookConfig.defaultRetryMin)
        #expect(webhook.retryMax == WebhookConfig.defaultRetryMax)
        #expect(webhook.retryFor == WebhookConfig.defaultRetryFor)
        #expect(webhook.caFile == nil)
    }

    @Test func explicitKeysAreRead() throws {
        let text = hook + "name = \"crm\"\nca_file = \"certs/crm-ca.crt\"\ntimeout = \"3s\"\n"
            + "retry_min = \"1s\"\nretry_max = \"2m\"\nretry_for = \"6h\"\n"
        let webhook = try #require(Fixtures.config(text)?.webhooks.first)
        #expect(webhook.name == "crm")
        #expect(webhook.caFile == "certs/crm-ca.crt")
        #expect(webhook.timeout == .seconds(3))
        #expect(webhook.retryMin == .seconds(1))
        #expect(webhook.retryMax == .seconds(120))
        #expect(webhook.retryFor == .seconds(6 * 3600))
    }

    @Test(arguments: [
        ("https://crm.example.test:8443/h?x=1#frag", 8443, "/h?x=1", "crm.example.test:8443"),
        ("http://crm.example.test", 80, "/", "crm.example.test"),
        ("https://crm.example.test", 443, "/", "crm.example.test"),
        ("http://127.0.0.1:9000?q", 9000, "/?q", "127.0.0.1:9000"),
        ("http://[::1]:81/a/b", 81, "/a/b", "[::1]:81"),
        ("http://Host.Example.TEST/#top", 80, "/", "host.example.test"),
    ] as [(String, Int, String, String)])
    func urlPartsForTheRequest(url: String, port: Int, target: String, host: String) throws {
        let parsed = try #require(WebURL.parse(url))
        #expect((Int(parsed.port), parsed.requestTarget, parsed.hostHeader) == (port, target, host))
    }

    @Test(arguments: [
        ("ca_file on plain http",
         Fixtures.base + "\n[[webhook]]\nurl = \"http://crm.example.test/h\"\nevents = [\"sent\"]\nca_file = \"ca.crt\"",
         17, "webhook[0].ca_file", #"ca_file is for https:// URLs; "http://crm.example.test/h" is plain http"#),
        ("retry_max below retry_min", hook + "retry_min = \"5m\"\nretry_max = \"1m\"",
         18, "webhook[0].retry_max", "retry_max (1m) is below retry_min (5m)"),
        ("zero timeout", hook + "timeout = \"0s\"",
         17, "webhook[0].timeout", #"expected a duration above zero, found "0s""#),
        ("empty name", hook + "name = \"\"",
         17, "webhook[0].name", "expected a name for the webhook's deliveries, found an empty string"),
        ("control character in name", hook + "name = \"a\\tb\"",
         17, "webhook[0].name", "expected a name without control characters"),
        ("duplicate name", hook + "name = \"crm\"\n[[webhook]]\nurl = \"http://b.example.test/\"\nevents = [\"sent\"]\n"
            + "name = \"crm\"",
         21, "webhook[1].name", #"duplicate webhook name "crm" (first defined at line 17)"#),
    ] as [(String, String, Int, String, String)])
    func refusals(name: String, text: String, line: Int, key: String, message: String) {
        #expect(Fixtures.errors(text) == [ConfigError(file: "test.toml", line: line,
                                                       key: ConfigKeyPath(stringLiteral: key), message: message)],
                "\(name)")
    }

    @Test func receivedIsAnEventName() {
        #expect(WebhookConfig.knownEvents.contains("received"))
    }
}
