// The IMAP sync keys of [[account]]: sync_folders (default ["INBOX"], [] turns
// the sync off) and sync_poll_interval (default 60s), their defaults, and the
// errors (file, line, key) for bad values or keys without an imap URL.
import Foundation
import Testing
@testable import Config

private let smtpLine = "smtp = \"smtp+plain://127.0.0.1:2525\""
private func account(_ lines: String) -> String {
    Fixtures.base.replacingOccurrences(of: smtpLine, with: smtpLine + "\n" + lines)
}
private let imapLine = "imap = \"imap+plain://127.0.0.1:1143\""

struct SyncKeysTests {
    @Test func defaultsWithAnIMAPURL() {
        let config = Fixtures.config(account(imapLine))
        #expect(config?.accounts.first?.syncFolders == ["INBOX"])
        #expect(config?.accounts.first?.syncPollInterval == .seconds(60))
    }

    @Test(arguments: [
        ("sync_folders = [\"INBOX\", \"Archive/2026\"]", ["INBOX", "Archive/2026"]),
        ("sync_folders = []", []),
        ("sync_folders = [\"Entwürfe\"]", ["Entwürfe"]),
    ])
    func folders(line: String, expected: [String]) {
        #expect(Fixtures.config(account(imapLine + "\n" + line))?.accounts.first?.syncFolders == expected)
    }

    @Test func pollInterval() {
        #expect(Fixtures.config(account(imapLine + "\nsync_poll_interval = \"15s\""))?.accounts.first?.syncPollInterval
            == .seconds(15))
    }

    @Test(arguments: [
        (imapLine + "\nsync_folders = \"INBOX\"", 9, "account[0].sync_folders",
         #"expected a list of a mailbox name like "INBOX", found string "INBOX""#),
        (imapLine + "\nsync_folders = [\"INBOX\", \"inbox\"]", 9, "account[0].sync_folders", #"folder "inbox" is listed twice"#),
        (imapLine + "\nsync_folders = [\"\"]", 9, "account[0].sync_folders[0]",
         #"expected a mailbox name like "INBOX", found string """#),
        (imapLine + "\nsync_poll_interval = \"0s\"", 9, "account[0].sync_poll_interval",
         #"expected a duration above zero, found "0s""#),
        (imapLine + "\nsync_poll_interval = \"soon\"", 9, "account[0].sync_poll_interval",
         #"expected a duration like "30s" or "5m", found string "soon""#),
        ("sync_folders = [\"INBOX\"]", 8, "account[0].sync_folders", "sync_folders has no effect without an imap URL"),
        ("sync_poll_interval = \"1m\"", 8, "account[0].sync_poll_interval",
         "sync_poll_interval has no effect without an imap URL"),
    ])
    func errors(lines: String, line: Int, key: String, message: String) {
        #expect(Fixtures.errors(account(lines)).map { "\($0.line ?? 0) \($0.key) \($0.message)" }
            == ["\(line) \(key) \(message)"])
    }
}
