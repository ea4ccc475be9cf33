import ArgumentParser
import Config
import Mailgate

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check the config file; list every error with file, line and key.")

    @OptionGroup var options: ConfigOption

    @Flag(help: .hidden)
    var printDatabaseURL = false

    func run() throws {
        switch ConfigLoader.load(path: options.config, databaseURLOverride: Environment.databaseURL) {
        case .success(let config):
            if printDatabaseURL {
                print(config.database.url ?? "")
            } else {
                print("\(options.config): ok")
            }
        case .failure(let errors):
            for error in errors.errors { Standard.error("\(error)") }
            Standard.error("\(options.config): \(errors.errors.count) error(s)")
            throw ExitCode(2)
        }
    }
}
