// `mailgate accounts status`: each upstream account's state as all nodes see
// it (email_accounts, email_rate_counters, live leases) against the limits and
// warm-up plan of the config. The config is always read (the limits live
// there); MAILGATE_DATABASE_URL still overrides its [database] url.
import ArgumentParser
import Mailgate

struct AccountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "Upstream accounts.", subcommands: [Status.self])

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
}
