// `mailgate ingest` stores message files as if read from an account's folder
// (for admins and tests; the IMAP sync calls IngestStore itself), printing one
// JSON line per file; `mailgate threads show` prints a thread. Unreadable files
// and database errors exit 1 after the other files are done; bad options exit 2.
import ArgumentParser
import Foundation
import Mailgate
import Postgres

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Store messages in their threads and record what bounces, complaints and receipts say.",
        discussion: """
            One JSON line per file: file, message (row id), thread, duplicate, new_thread, report \
            (bounce, feedback, auto_reply, delivery_receipt or null), relayed_stored, and events \
            (recipient, event, reason, status, queue_id, send_id, suppressed).
            """)

    @OptionGroup var options: DatabaseOptions
    @Option(help: "The account the messages were read from.") var account: String
    @Option(help: "The folder they were read from.") var folder: String = "INBOX"
    @Option(help: "inbound or outbound.") var direction: String = "inbound"
    @Argument(help: "Message files (RFC 5322).") var files: [String]

    func run() throws {
        let command = DatabaseCommand(name: "ingest", options: options)
        guard let direction = IngestDirection(rawValue: direction) else {
            command.fail("--direction must be inbound or outbound")
            throw ExitCode(2)
        }
        guard !account.isEmpty, !account.utf8.contains(0), !folder.utf8.contains(0) else {
            command.fail("--account is empty, or a name holds a NUL byte")
            throw ExitCode(2)
        }
        var messages: [(String, [UInt8])] = []
        var failures = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                command.fail("\(file): cannot read")
                failures += 1
                continue
            }
            messages.append((file, [UInt8](data)))
        }
        let url = try command.databaseURL()
        let (account, folder) = (self.account, self.folder)
        let results: [(String, Result<IngestOutcome, PGError>)] = try command.runOrExit(url: url) { pool, done in
            let store = IngestStore(pool: pool)
            var results: [(String, Result<IngestOutcome, PGError>)] = []
            func next(_ index: Int) {
                guard index < messages.count else { return done(.success(results)) }
                let (file, raw) = messages[index]
                store.ingest(raw: raw, account: account, folder: folder, uid: nil, direction: direction) { outcome in
                    results.append((file, outcome))
                    next(index + 1)
                }
            }
            next(0)
        }
        for (file, result) in results {
            switch result {
            case .success(let outcome): print(outcome.jsonLine(file: file))
            case .failure(let error):
                command.fail("\(file): \(error)")
                failures += 1
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

struct ThreadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threads", abstract: "Conversation threads built from ingested mail.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a thread, by thread id or by the Message-ID of one of its messages.")

        @OptionGroup var options: DatabaseOptions
        @Argument(help: "A thread id, or a Message-ID (angle brackets optional).") var reference: String
        @Flag(help: "One JSON object per message instead of text.") var json = false

        func run() throws {
            let command = DatabaseCommand(name: "threads show", options: options)
            guard !reference.utf8.contains(0), !reference.isEmpty else {
                command.fail("empty reference")
                throw ExitCode(2)
            }
            let url = try command.databaseURL()
            let reference = self.reference
            let view: ThreadView? = try command.runOrExit(url: url) { pool, done in
                ThreadsAdmin(pool: pool).show(reference, completion: done)
            }
            guard let view else {
                command.fail("no thread or message \(reference)")
                throw ExitCode(1)
            }
            for line in json ? ThreadsAdmin.json(view) : ThreadsAdmin.lines(view) { print(line) }
        }
    }
}
