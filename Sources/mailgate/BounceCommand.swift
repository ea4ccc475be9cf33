import ArgumentParser
import Bounce
import Foundation
import Mailgate

struct BounceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bounce", abstract: "Bounce tools.", subcommands: [Classify.self])

    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify messages: one JSON line per recipient found (a file with no bounce prints one line with is_bounce false).")

        @Argument(help: "Message files (RFC 5322, as stored).")
        var files: [String]

        func run() throws {
            var unreadable = 0
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    Standard.error("\(file): cannot read")
                    unreadable += 1
                    continue
                }
                let report = BounceClassifier.classify([UInt8](data))
                for line in BounceJSON.lines(file: file, report: report) { print(line) }
            }
            if unreadable > 0 { throw ExitCode(1) }
        }
    }
}
