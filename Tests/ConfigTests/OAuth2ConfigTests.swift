// The oauth2 table of an [[account]]: a complete table becomes the
// .oauth2Refresh credential, each refusal names its line and key (clear-text
// token URL off loopback, missing parts, unknown keys, clashes with
// password_file and oauth2_token_file), and its secret files are checked.
import Foundation
import Testing
@testable import Config

/// Every secret file is fine: these tests are about the table, not the files (SecretFileTests are).
private struct AcceptingSecrets: SecretFileChecking {
    func status(ofSecretAt path: String) -> SecretFileStatus { .ok }
}

private func account(_ extra: String) -> String {
    Fixtures.base.replacingOccurrences(of: "smtp = \"smtp+plain://127.0.0.1:2525\"",
                                       with: "smtp = \"smtp+plain://127.0.0.1:2525\"\n" + extra)
}

private func parse(_ text: String) -> Result<MailgateConfig, ConfigErrors> {
    ConfigLoader.parse(text: text, file: "test.toml", secrets: AcceptingSecrets())
}

private func errors(_ text: String) -> [ConfigError] {
    switch parse(text) {
    case .success: return []
    case .failure(let errors): return errors.errors
    }
}

private let full = #"oauth2 = { token_url = "https://login.example.test/token", client_id = "mg", "#
    + #"client_secret_file = "s/client", refresh_token_file = "s/refresh" }"#

@Suite struct OAuth2ConfigTests {
    @Test func completeTableBecomesTheCredential() throws {
        let config = try parse(account(full)).get()
        let expected = OAuth2RefreshConfig(tokenURL: try #require(WebURL.parse("https://login.example.test/token")),
                                           clientID: "mg", clientSecretFile: "s/client", refreshTokenFile: "s/refresh")
        #expect(config.accounts.first?.credential == .oauth2Refresh(expected))
    }

    @Test func usernameDefaultsToTheAddress() throws {
        let config = try parse(account(full)).get()
        #expect(config.accounts.first?.username == "sink@example.test")
    }

    @Test func optionalKeysAreRead() throws {
        let text = account(#"oauth2 = { token_url = "https://l.example.test/t", client_id = "mg", "#
            + #"refresh_token_file = "s/r", scope = "https://mail.google.com/", ca_file = "c.pem" }"#)
        let config = try parse(text).get()
        guard case .oauth2Refresh(let refresh)? = config.accounts.first?.credential else {
            Issue.record("no oauth2 credential")
            return
        }
        #expect(refresh.clientSecretFile == nil)
        #expect(refresh.scope == "https://mail.google.com/")
        #expect(refresh.caFile == "c.pem")
    }

    @Test func subTableFormIsAccepted() throws {
        let text = Fixtures.base.replacingOccurrences(of: "\n[[user]]", with: """

            [account.oauth2]
            token_url = "http://127.0.0.1:8080/token"
            client_id = "mg"
            refresh_token_file = "s/r"

            [[user]]
            """)
        let config = try parse(text).get()
        guard case .oauth2Refresh(let refresh)? = config.accounts.first?.credential else {
            Issue.record("no oauth2 credential")
            return
        }
        #expect(refresh.tokenURL.text == "http://127.0.0.1:8080/token")
    }

    @Test(arguments: ["http://127.0.0.1:9/t", "http://[::1]/t", "http://localhost:80/t", "https://a.example.test/t"])
    func acceptedTokenURLs(url: String) {
        let text = account(#"oauth2 = { token_url = "\#(url)", client_id = "mg", refresh_token_file = "r" }"#)
        #expect(errors(text) == [])
    }

    @Test(arguments: [
        ("clear text off loopback",
         #"oauth2 = { token_url = "http://login.example.test/t", client_id = "mg", refresh_token_file = "r" }"#,
         "account[0].oauth2.token_url",
         "http:// sends the client secret and tokens in clear text and is allowed only to a loopback address "
            + "(127.0.0.1, ::1, localhost); use https://"),
        ("not a URL", #"oauth2 = { token_url = "ftp://x", client_id = "mg", refresh_token_file = "r" }"#,
         "account[0].oauth2.token_url",
         #"expected an https:// URL like "https://oauth2.example.test/token", found string "ftp://x""#),
        ("no client_id", #"oauth2 = { token_url = "https://a.example.test/t", refresh_token_file = "r" }"#,
         "account[0].oauth2.client_id",
         "missing required key (expected the client identifier issued to mailgate)"),
        ("no refresh token", #"oauth2 = { token_url = "https://a.example.test/t", client_id = "mg" }"#,
         "account[0].oauth2.refresh_token_file", "missing required key (expected the path of a secret file)"),
        ("no token_url", #"oauth2 = { client_id = "mg", refresh_token_file = "r" }"#,
         "account[0].oauth2.token_url",
         #"missing required key (expected an https:// URL like "https://oauth2.example.test/token")"#),
        ("control character in client_id",
         #"oauth2 = { token_url = "https://a.example.test/t", client_id = "m\ng", refresh_token_file = "r" }"#,
         "account[0].oauth2.client_id", "expected the client identifier issued to mailgate, found string \"m\ng\""),
        ("ca_file on plain http",
         #"oauth2 = { token_url = "http://127.0.0.1/t", client_id = "mg", refresh_token_file = "r", ca_file = "c" }"#,
         "account[0].oauth2.ca_file", #"ca_file is for https:// token URLs; "http://127.0.0.1/t" is plain http"#),
        ("unknown key", #"oauth2 = { token_url = "https://a.example.test/t", client_id = "mg", "#
            + #"refresh_token_file = "r", client_secret = "x" }"#,
         "account[0].oauth2.client_secret",
         "unknown key (known keys: ca_file, client_id, client_secret_file, refresh_token_file, scope, token_url); "
            + #"did you mean "client_secret_file"?"#),
        ("with password_file", full + "\npassword_file = \"p\"", "account[0].oauth2",
         "password_file and oauth2 exclude each other: keep one"),
        ("with oauth2_token_file", full + "\noauth2_token_file = \"t\"", "account[0].oauth2",
         "oauth2 obtains and refreshes the access token itself (shared by every node through PostgreSQL): "
            + "remove oauth2_token_file"),
        ("not a table", "oauth2 = \"https://a.example.test/t\"", "account[0].oauth2",
         #"expected a table, found string "https://a.example.test/t""#),
    ] as [(String, String, String, String)])
    func refusals(name: String, extra: String, key: String, message: String) {
        // The account's keys start at line 7; the extra key is on line 8.
        #expect(errors(account(extra)) == [ConfigError(file: "test.toml", line: 8,
                                                        key: ConfigKeyPath(stringLiteral: key), message: message)],
                "\(name)")
    }

    @Test func openSecretFilesAreRefusedWithTheirKeys() throws {
        let directory = try TemporaryDirectory()
        let client = try directory.file("client", mode: 0o644)
        let refresh = try directory.file("refresh", mode: 0o600)
        let text = account(#"oauth2 = { token_url = "https://a.example.test/t", client_id = "mg", "#
            + #"client_secret_file = "\#(client)", refresh_token_file = "\#(refresh)" }"#)
        let found = Fixtures.errors(text)
        #expect(found.map(\.key) == ["account[0].oauth2.client_secret_file"])
    }

    @Test func missingRefreshTokenFileIsRefused() throws {
        let directory = try TemporaryDirectory()
        let text = account(#"oauth2 = { token_url = "https://a.example.test/t", client_id = "mg", "#
            + #"refresh_token_file = "\#(directory.path)/absent" }"#)
        #expect(Fixtures.errors(text).map(\.key) == ["account[0].oauth2.refresh_token_file"])
    }
}
