// `mailgate accounts status`: each upstream account's state as all nodes see
// it (email_accounts, email_rate_counters, live leases) against the limits and
// warm-up plan of the config. The config is always read (the limits live
// there); MAILGATE_DATABASE_URL still overrides its [database] url.
// `accounts test NAME [--send-test ADDRESS]`, `accounts pause NAME`, `accounts resume NAME`:
// AccountsControl. test exits 1 when a check fails (2 for an unknown account).
import ArgumentParser
import Config
import Mailgate

struct AccountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "Upstream accounts.", subcommands: [Status.self, Test.self, Pause.self, Resume.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each account's status, sends this minute/hour/day against its limits, and room now.",
            discussion: """
                Columns: status (active, paused, disabled) and health; sends counted in the current UTC \
                minute, hour and day over their limits (the day's limit is per_day or today's warm-up cap, \
                the lower); today's warm-up cap and plan week; sends in flight over max_connections; the \
                room left now. Below the table: pause reasons and until when, and the limit that holds an \
                account with no room, until when. Accounts without a database row yet show as active with \
                zero counters. With --json, one object per account.
                """)

        @OptionGroup var options: DatabaseOptions
        @Flag(help: "JSON lines instead of a table.") var json = false

        func run() throws {
            let command = DatabaseCommand(name: "accounts status", options: options)
            let config = try command.loadConfig()
            let url = try command.databaseURL(config: config)
            let report: AccountsReport = try command.runOrExit(url: url) { pool, done in
                AccountsAdmin(pool: pool).status(config: config, completion: done)
            }
            for line in json ? AccountsAdmin.json(report) : AccountsAdmin.lines(report) { print(line) }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log in to the account's SMTP (and IMAP) upstream now; record the result.",
            discussion: """
                SMTP: connect, TLS (verified), EHLO, AUTH, as the relay does; IMAP: the proxy's login, when the \
                account has an imap URL. Prints each step's result and latency. A pass records the account \
                healthy and resumes it if it was paused until a health check passes (a rate window or an \
                operator's pause stays); a failure records it unhealthy and pauses an active account until \
                a check passes. Exit status 1 when a check failed. With --send-test, a short test message \
                goes from the account's address to ADDRESS through the account.
                """)

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The account's name.") var name: String
        @Option(name: .customLong("send-test"), help: "Also send a test message to this address.")
        var sendTest: String?

        func run() throws {
            let command = DatabaseCommand(name: "accounts test", options: options)
            let config = try command.loadConfig()
            let account = try AccountsCommand.named(name, in: config, command: command)
            if let sendTest, !MailboxText.looksLikeAddress(sendTest) {
                command.fail("--send-test expects an address like user@example.org, found \(sendTest)")
                throw ExitCode(2)
            }
            let url = try command.databaseURL(config: config)
            let outcome: AccountCheckOutcome = try command.runOrExitOnLoop(url: url) { reactor, pool, done in
                AccountsControl.test(reactor: reactor, pool: pool, config: config, account: account,
                                     testRecipient: sendTest, completion: done)
            }
            for line in AccountsControl.lines(outcome) { print(line) }
            if !outcome.report.passed { throw ExitCode(1) }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause an account on every node until `accounts resume`.")

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The account's name.") var name: String
        @Option(help: "Why, as shown by `accounts status`.") var reason = "paused by an operator"

        func run() throws {
            let command = DatabaseCommand(name: "accounts pause", options: options)
            let config = try command.loadConfig()
            let account = try AccountsCommand.named(name, in: config, command: command)
            let url = try command.databaseURL(config: config)
            try command.runOrExit(url: url) { pool, done in
                AccountsControl.pause(pool: pool, account: account, reason: reason, completion: done)
            }
            print("account \(name) paused")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift any pause of an account (bounce rate, operator, health, window) on every node.",
            discussion: "The bounce rate then counts only sends from now on.")

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The account's name.") var name: String

        func run() throws {
            let command = DatabaseCommand(name: "accounts resume", options: options)
            let config = try command.loadConfig()
            let account = try AccountsCommand.named(name, in: config, command: command)
            let url = try command.databaseURL(config: config)
            try command.runOrExit(url: url) { pool, done in
                AccountsControl.resume(pool: pool, account: account, completion: done)
            }
            print("account \(name) resumed")
        }
    }

    static func named(_ name: String, in config: MailgateConfig, command: DatabaseCommand) throws -> AccountConfig {
        guard let account = config.account(named: name) else {
            command.fail("no account \(name) in \(config.path) (accounts: "
                + "\(config.accounts.map(\.name).joined(separator: ", ")))")
            throw ExitCode(2)
        }
        return account
    }
}

enum MailboxText {
    /// One "@" with text on both sides, no spaces or angle brackets: enough to refuse a typo.
    static func looksLikeAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
            && !text.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" })
    }
}
