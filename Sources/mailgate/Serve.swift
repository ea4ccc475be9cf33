import ArgumentParser
import Mailgate

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve: open the listeners of the config. SIGHUP reloads, SIGTERM drains.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let status = Server.run(configPath: options.config)
        if status != 0 { throw ExitCode(status) }
    }
}
