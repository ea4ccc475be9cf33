// `mailgate queue list | show | retry | hold | release | delete`: the admin's
// mailq and postsuper over the PostgreSQL queue (Mailgate/Admin/QueueAdmin).
// IDs are checked before anything runs (bad input: exit 2); each changed
// message prints one line saying what was done; an unknown id, a refused
// delete or a database error prints to stderr and exits 1 after the other ids ran.
import ArgumentParser
import MailCore
import Mailgate
import Postgres

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Inspect and manage the relay queue (like mailq and postsuper).",
        subcommands: [List.self, Show.self, Retry.self, Hold.self, Release.self, Delete.self, ClaimProbe.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List queued messages, newest last (like mailq).",
            discussion: """
                One line per message with recipients still waiting (queued, deferred, being relayed or held): \
                queue id, age, size in bytes, priority class, recipients waiting/total, the earliest next \
                attempt ("now" when due), whether it is held, and the envelope sender ("<>" when null). \
                A last line sums it up. With --json, one JSON object per message and no summary: \
                id, created_at, age_seconds, size, sender, priority, waiting, recipients, next_attempt_at, held.
                """)

        @OptionGroup var options: DatabaseOptions
        @Flag(help: "Only held messages.") var held = false
        @Option(help: "Only messages from this envelope sender (\"<>\" for the null sender).") var sender: String?
        @Option(help: "Only this priority class: critical, high, normal, low or bulk.") var priority: String?
        @Flag(help: "Also messages whose recipients are all done (sent, failed or suppressed).") var all = false
        @Flag(help: "JSON lines instead of a table.") var json = false

        func run() throws {
            let command = DatabaseCommand(name: "queue list", options: options)
            var filter = QueueListFilter()
            filter.heldOnly = held
            if let sender, sender.utf8.contains(0) {
                command.fail("the sender holds a NUL byte")
                throw ExitCode(2)
            }
            filter.sender = sender
            filter.includeFinished = all
            if let priority {
                guard let parsed = MessagePriority(name: priority) else {
                    command.fail("unknown priority \(priority): use critical, high, normal, low or bulk")
                    throw ExitCode(2)
                }
                filter.priority = parsed
            }
            let url = try command.databaseURL()
            let listing: QueueListing = try command.runOrExit(url: url) { pool, done in
                QueueAdmin(pool: pool).list(filter, completion: done)
            }
            for line in json ? QueueReport.listJSON(listing) : QueueReport.listLines(listing) { print(line) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one message: envelope, each recipient and why it waits, and its events.",
            discussion: """
                For each recipient: status, attempts, next attempt, the account it was (last) relayed \
                through, the upstream's last reply, and why it waits (a limit, window, account, retry, \
                lease or hold) and until when. Then the message's events, oldest first. \
                With --json, one JSON object with "recipients" and "events" arrays.
                """)

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "The queue id (17 characters, as in \"queued as <id>\").") var id: String
        @Flag(help: "One JSON object instead of text.") var json = false

        func run() throws {
            let command = DatabaseCommand(name: "queue show", options: options)
            let queueID = try QueueCommand.validIDs([id], command: command)[0]
            let url = try command.databaseURL()
            let found: QueuedMessage? = try command.runOrExit(url: url) { pool, done in
                QueueAdmin(pool: pool).show(id: queueID, completion: done)
            }
            guard let message = found else {
                command.fail("no message \(queueID) in the queue")
                throw ExitCode(1)
            }
            if json { print(QueueReport.showJSON(message)) } else { QueueReport.showLines(message).forEach { print($0) } }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make messages due now (like postqueue -i).",
            discussion: """
                Queued and deferred recipients get their next attempt set to now and their wait reason \
                cleared; a future release (FUTURERELEASE) is brought forward to now; then the relays are \
                woken (NOTIFY mailgate_queue). Held recipients stay held: release them first. A recipient \
                that still has no room (account limits) waits again, at no cost of an attempt.
                """)

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "Queue ids.") var ids: [String]

        func run() throws {
            try QueueCommand.change(ids, name: "queue retry", options: options, operation: { $0.retry(id: $1, completion: $2) }) {
                id, recipients, inFlight, held in
                var line = "retry: \(plural(recipients, "recipient")) of \(id) due now"
                if inFlight > 0 { line += "; \(inFlight) being relayed now" }
                if held { line += " (the message is held: mailgate queue release \(id))" }
                return line
            }
        }
    }

    struct Hold: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hold messages: they stay queued but are not relayed (like postsuper -h).",
            discussion: """
                Sets the message's held flag and its queued and deferred recipients to status 'held'. \
                Recipients being relayed at this moment finish their attempt. Undo with `queue release`.
                """)

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "Queue ids.") var ids: [String]

        func run() throws {
            try QueueCommand.change(ids, name: "queue hold", options: options, operation: { $0.hold(id: $1, completion: $2) }) {
                id, recipients, inFlight, _ in
                var line = "held \(plural(recipients, "recipient")) of \(id)"
                if inFlight > 0 { line += "; \(inFlight) being relayed now, not held" }
                return line
            }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release held messages (like postsuper -H).",
            discussion: """
                Clears the held flag; held recipients go back to 'deferred' when they were tried before, \
                else 'queued', keeping their scheduled next attempt (use `queue retry` to make them due \
                now). The relays are woken (NOTIFY mailgate_queue).
                """)

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "Queue ids.") var ids: [String]

        func run() throws {
            try QueueCommand.change(ids, name: "queue release", options: options,
                                    operation: { $0.release(id: $1, completion: $2) }) { id, recipients, _, _ in
                "released \(plural(recipients, "recipient")) of \(id)"
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete messages and all their recipients (like postsuper -d).",
            discussion: """
                Refuses a message with a recipient being relayed under a live lease (it could be sent \
                anyway); --force deletes it regardless. Its events stay, detached from the message.
                """)

        @OptionGroup var options: DatabaseOptions
        @Flag(help: "Delete even while a relay holds a live lease on a recipient.") var force = false
        @Argument(help: "Queue ids.") var ids: [String]

        func run() throws {
            let command = DatabaseCommand(name: "queue delete", options: options)
            let valid = try QueueCommand.validIDs(ids, command: command)
            let url = try command.databaseURL()
            let force = force
            let failures: Int = try command.runOrExit(url: url) { pool, done in
                let admin = QueueAdmin(pool: pool)
                QueueCommand.sequence(valid, step: { admin.delete(id: $0, force: force, completion: $1) }) { id, change in
                    switch change {
                    case .deleted(let recipients):
                        print("deleted \(id) (\(plural(recipients, "recipient")))")
                        return true
                    case .busy(let recipients, let owners):
                        let by = owners.isEmpty ? "" : " by \(owners.joined(separator: ", "))"
                        command.fail("\(id): \(plural(recipients, "recipient")) being relayed now\(by); "
                                     + "not deleted (--force deletes anyway)")
                        return false
                    case .notFound:
                        command.fail("no message \(id) in the queue")
                        return false
                    case .changed:
                        return true
                    }
                } completion: { done($0) }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    // MARK: Shared

    /// Upper-cased ids, each a well-formed queue id; otherwise a message and exit 2.
    static func validIDs(_ ids: [String], command: DatabaseCommand) throws -> [String] {
        let normalized = ids.map { $0.uppercased() }
        let bad = zip(ids, normalized).filter { !QueueID.isValid($0.1) }.map(\.0)
        guard bad.isEmpty else {
            for id in bad { command.fail("not a queue id: \(id) (17 characters of 0-9 and A-Z without I, L, O, U)") }
            throw ExitCode(2)
        }
        return normalized
    }

    /// retry, hold and release: validate, run `operation` on each id in turn, print `describe`'s line.
    static func change(
        _ ids: [String], name: String, options: DatabaseOptions,
        operation: @escaping (QueueAdmin, String, @escaping (Result<QueueChange, PGError>) -> Void) -> Void,
        describe: @escaping (_ id: String, _ recipients: Int, _ inFlight: Int, _ held: Bool) -> String
    ) throws {
        let command = DatabaseCommand(name: name, options: options)
        let valid = try validIDs(ids, command: command)
        let url = try command.databaseURL()
        let failures: Int = try command.runOrExit(url: url) { pool, done in
            let admin = QueueAdmin(pool: pool)
            sequence(valid, step: { operation(admin, $0, $1) }) { id, change in
                switch change {
                case .changed(let recipients, let inFlight, let held):
                    print(describe(id, recipients, inFlight, held))
                    return true
                case .notFound:
                    command.fail("no message \(id) in the queue")
                    return false
                case .busy, .deleted:
                    return true
                }
            } completion: { done($0) }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// Runs `step` for each id, one after the other; `report` says whether it went well.
    /// Completes with the number that did not, or the first database error (later ids are not run).
    static func sequence(
        _ ids: [String], step: @escaping (String, @escaping (Result<QueueChange, PGError>) -> Void) -> Void,
        report: @escaping (String, QueueChange) -> Bool, completion: @escaping (Result<Int, PGError>) -> Void
    ) {
        var failures = 0
        var next: ((Int) -> Void)?
        next = { index in
            guard index < ids.count else {
                next = nil  // breaks the closure's reference to itself
                return completion(.success(failures))
            }
            step(ids[index]) { result in
                switch result {
                case .failure(let error):
                    next = nil
                    completion(.failure(error))
                case .success(let change):
                    if !report(ids[index], change) { failures += 1 }
                    next?(index + 1)
                }
            }
        }
        next?(0)
    }
}

func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
