// `mailgate suppression list | add | remove`: the addresses the relay will not
// send to, for every sender (no --scope) or for one sender (--scope SENDER,
// like an unsubscribe). Addresses are compared lower-cased. Bad addresses exit
// 2; removing an entry that is not there exits 1; database errors exit 1.
import ArgumentParser
import Mailgate

struct SuppressionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suppression", abstract: "The suppression list: addresses mailgate does not relay to.",
        subcommands: [List.self, Add.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List suppressed addresses.",
            discussion: """
                One line per entry: address, scope ("*" for every sender), source (bounce, complaint, \
                unsubscribe, admin), since when, reason. With --json, one JSON object per entry: \
                address, scope ("" for every sender), reason, source, created_at.
                """)

        @OptionGroup var options: DatabaseOptions
        @Option(help: "Only entries for this sender; \"\" for those that apply to every sender.") var scope: String?
        @Flag(help: "JSON lines instead of a table.") var json = false

        func run() throws {
            let command = DatabaseCommand(name: "suppression list", options: options)
            let scopeFilter = try scope.map { try SuppressionCommand.scope($0, command: command) }
            let url = try command.databaseURL()
            let entries: [SuppressionEntry] = try command.runOrExit(url: url) { pool, done in
                SuppressionAdmin(pool: pool).list(scope: scopeFilter, completion: done)
            }
            let lines = json ? entries.map(SuppressionAdmin.json) : SuppressionAdmin.listLines(entries)
            for line in lines { print(line) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suppress an address (source 'admin'); an existing entry is left as it is.")

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The recipient address to stop sending to.") var address: String
        @Option(help: "Only for mail from this sender (default: every sender).") var scope: String?
        @Option(help: "Why, for the record.") var reason: String = SuppressionAdmin.defaultReason

        func run() throws {
            let command = DatabaseCommand(name: "suppression add", options: options)
            let normalized = try SuppressionCommand.address(address, command: command)
            let scopeValue = try SuppressionCommand.scope(scope ?? "", command: command)
            guard !reason.allSatisfy({ $0 == " " || $0 == "\t" }), !reason.utf8.contains(0) else {
                command.fail("the reason is empty or holds a NUL byte")
                throw ExitCode(2)
            }
            let url = try command.databaseURL()
            let reason = reason
            let outcome: SuppressionAdd = try command.runOrExit(url: url) { pool, done in
                SuppressionAdmin(pool: pool).add(address: normalized, scope: scopeValue, reason: reason, completion: done)
            }
            let forWhom = scopeValue.isEmpty ? "every sender" : scopeValue
            switch outcome {
            case .added:
                print("suppressed \(normalized) for \(forWhom)")
            case .alreadyPresent(let entry):
                print("already suppressed: \(normalized) for \(forWhom) (source \(entry.source), since \(entry.createdAt): \(entry.reason))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an address from the suppression list.")

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The suppressed address.") var address: String
        @Option(help: "The sender the entry applies to (default: the entry for every sender).") var scope: String?

        func run() throws {
            let command = DatabaseCommand(name: "suppression remove", options: options)
            let normalized = try SuppressionCommand.address(address, command: command)
            let scopeValue = try SuppressionCommand.scope(scope ?? "", command: command)
            let url = try command.databaseURL()
            let removed: Int = try command.runOrExit(url: url) { pool, done in
                SuppressionAdmin(pool: pool).remove(address: normalized, scope: scopeValue, completion: done)
            }
            let forWhom = scopeValue.isEmpty ? "every sender" : scopeValue
            guard removed > 0 else {
                command.fail("\(normalized) is not suppressed for \(forWhom)")
                throw ExitCode(1)
            }
            print("removed \(normalized) for \(forWhom) from the suppression list")
        }
    }

    static func address(_ text: String, command: DatabaseCommand) throws -> String {
        guard let normalized = SuppressionAdmin.normalizedAddress(text) else {
            command.fail("not an address: \(text) (expected local@domain)")
            throw ExitCode(2)
        }
        return normalized
    }

    /// "" stays "" (every sender); anything else must be an address.
    static func scope(_ text: String, command: DatabaseCommand) throws -> String {
        if text.isEmpty { return "" }
        guard let normalized = SuppressionAdmin.normalizedAddress(text) else {
            command.fail("not a sender address for --scope: \(text)")
            throw ExitCode(2)
        }
        return normalized
    }
}
