// Secret files checked on real temp files made with real modes: missing,
// world-readable, group-writable, a directory, and a good 0600 file; the
// error names the config line, key, secret path and mode.
import Foundation
import Testing
@testable import Config

/// A fresh directory under the system temp dir, removed on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("mailgate-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        path = url.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Creates a file with `contents` and exactly `mode`; returns its path.
    func file(_ name: String, mode: Int, contents: String = "secret\n") throws -> String {
        let filePath = path + "/" + name
        guard FileManager.default.createFile(atPath: filePath, contents: Data(contents.utf8)) else {
            throw CocoaError(.fileWriteUnknown)
        }
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: filePath)
        return filePath
    }
}

@Suite struct SecretFileTests {
    let checker = FileSystemSecretChecker()

    @Test(arguments: [(0o600, SecretFileStatus.ok), (0o400, .ok), (0o700, .ok),
                      (0o644, .tooOpen(mode: 0o644)), (0o640, .tooOpen(mode: 0o640)),
                      (0o620, .tooOpen(mode: 0o620)), (0o604, .tooOpen(mode: 0o604)),
                      (0o601, .tooOpen(mode: 0o601)), (0o610, .tooOpen(mode: 0o610))])
    func modes(mode: Int, expected: SecretFileStatus) throws {
        let directory = try TemporaryDirectory()
        let secret = try directory.file("s", mode: mode)
        #expect(checker.status(ofSecretAt: secret) == expected)
    }

    @Test func missingFile() throws {
        let directory = try TemporaryDirectory()
        #expect(checker.status(ofSecretAt: directory.path + "/absent") == .missing)
    }

    @Test func directoryIsNotASecretFile() throws {
        let directory = try TemporaryDirectory()
        #expect(checker.status(ofSecretAt: directory.path) == .notARegularFile)
    }

    @Test func worldReadablePasswordFileIsRefusedWithLineKeyPathAndMode() throws {
        let directory = try TemporaryDirectory()
        let secret = try directory.file("sales.password", mode: 0o644)
        let accountText = Fixtures.base.replacingOccurrences(
            of: "smtp = \"smtp+plain://127.0.0.1:2525\"\n",
            with: "smtp = \"smtp+plain://127.0.0.1:2525\"\npassword_file = \"\(secret)\"\n")
        let expected = ConfigError(
            file: "test.toml", line: 8, key: "account[0].password_file",
            message: "secret file \"\(secret)\" has mode 0644: readable or writable by group or others; "
                + "run chmod 600 \(secret)")
        #expect(Fixtures.errors(accountText) == [expected])
    }

    @Test func missingTokenFileIsAnError() throws {
        let directory = try TemporaryDirectory()
        let absent = directory.path + "/none.token"
        let text = Fixtures.base.replacingOccurrences(
            of: "smtp = \"smtp+plain://127.0.0.1:2525\"\n",
            with: "smtp = \"smtp+plain://127.0.0.1:2525\"\noauth2_token_file = \"\(absent)\"\n")
        let expected = ConfigError(
            file: "test.toml", line: 8, key: "account[0].oauth2_token_file",
            message: "secret file \"\(absent)\" does not exist (relative paths start at the working directory)")
        #expect(Fixtures.errors(text) == [expected])
    }

    @Test func goodSecretFilesPass() throws {
        let directory = try TemporaryDirectory()
        let password = try directory.file("p", mode: 0o600)
        let hook = try directory.file("h", mode: 0o400)
        let unsubscribe = try directory.file("u", mode: 0o600)
        let text = Fixtures.base.replacingOccurrences(
            of: "smtp = \"smtp+plain://127.0.0.1:2525\"\n",
            with: "smtp = \"smtp+plain://127.0.0.1:2525\"\npassword_file = \"\(password)\"\n") + """

            [[webhook]]
            url = "https://crm.example.test/hook"
            events = ["bounced_hard"]
            secret_file = "\(hook)"
            [unsubscribe]
            listen = "127.0.0.1:8025"
            public_url = "https://mail.example.test/u"
            secret_file = "\(unsubscribe)"
            """
        let config = Fixtures.config(text)
        #expect(config?.accounts.first?.credential == .passwordFile(password))
        #expect(config?.webhooks.first?.secretFile == hook)
        #expect(config?.unsubscribe?.secretFile == unsubscribe)
    }

    @Test func tlsKeyMayBeMissingButNotOpen() throws {
        let directory = try TemporaryDirectory()
        let absentKey = directory.path + "/absent.key"
        let openKey = try directory.file("open.key", mode: 0o640)
        let missingText = Fixtures.base + "\n[tls]\ncertificate = \"c.crt\"\nprivate_key = \"\(absentKey)\""
        #expect(Fixtures.errors(missingText) == [])
        let openText = Fixtures.base + "\n[tls]\ncertificate = \"c.crt\"\nprivate_key = \"\(openKey)\""
        let expected = ConfigError(
            file: "test.toml", line: 16, key: "tls.private_key",
            message: "secret file \"\(openKey)\" has mode 0640: readable or writable by group or others; "
                + "run chmod 600 \(openKey)")
        #expect(Fixtures.errors(openText) == [expected])
    }
}
