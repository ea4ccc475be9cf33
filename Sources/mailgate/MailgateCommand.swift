import ArgumentParser
import Mailgate

struct MailgateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailgate",
        abstract: "A mail gateway: SMTP submission and relay through a pool of upstream accounts, IMAP proxy, bounce ingestion.",
        version: MailgateVersion.current,
        subcommands: [Serve.self, Migrate.self, QueueCommand.self, SuppressionCommand.self, AccountsCommand.self, PurgeCommand.self, BounceCommand.self, IngestCommand.self, ThreadsCommand.self, CheckConfig.self, Passwd.self, Version.self]
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The config file.")
    var config: String = "conf/mailgate.toml"
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("mailgate \(MailgateVersion.current)")
    }
}
