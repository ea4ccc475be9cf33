// The `mailgate` executable: argument parsing only; the work is in Mailgate.
// The root command is synchronous on purpose: `serve` makes the main thread
// the event loop (FIELD-NOTES: an async main parks it with an empty signal mask).
// Usage errors (unknown option, missing argument) exit 2, like every other
// case of bad input, rather than ArgumentParser's 64.
import ArgumentParser
import Mailgate

do {
    var command = try MailgateCommand.parseAsRoot()
    try command.run()
} catch {
    if MailgateCommand.exitCode(for: error) == .validationFailure {
        Standard.error(MailgateCommand.fullMessage(for: error))
        MailgateCommand.exit(withError: ExitCode(2))
    }
    MailgateCommand.exit(withError: error)
}
