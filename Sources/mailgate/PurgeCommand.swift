// `mailgate purge [--dry-run]`: the retention purge serve runs every [retention]
// interval, run once now (or, with --dry-run, only counted), with the config's
// horizons. Prints one line per step: "events  1200". Exit 1 on a database error.
import ArgumentParser
import Mailgate

struct PurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete history older than the [retention] horizons (or count it with --dry-run).",
        discussion: """
            Steps: events, sent_queue (finished messages with their recipients), raw_messages (raw bytes \\
            emptied; headers and snippet stay), thread_messages and threads (threads whose last message \\
            is older than the threads horizon), attachments no message links any more. Rows are deleted \\
            in batches of [retention] batch_size with FOR UPDATE SKIP LOCKED, beside a running serve.
            """)

    @OptionGroup var options: DatabaseOptions
    @Flag(help: "Only count what is due.") var dryRun = false

    func run() throws {
        let command = DatabaseCommand(name: "purge", options: options)
        let config = try command.loadConfig()
        let url = try command.databaseURL(config: config)
        let dryRun = self.dryRun
        let counts: [PurgeCount] = try command.runOrExitOnLoop(url: url) { reactor, pool, done in
            if dryRun {
                RetentionJob.dryRun(pool: pool, retention: config.retention, completion: done)
            } else {
                let job = RetentionJob(reactor: reactor, pool: pool, retention: config.retention)
                job.runOnce { result in
                    _ = job
                    done(result)
                }
            }
        }
        for count in counts {
            print("\(count.step.padding(toLength: 16, withPad: " ", startingAt: 0)) \(count.rows)"
                + (dryRun ? " due" : " purged"))
        }
    }
}
