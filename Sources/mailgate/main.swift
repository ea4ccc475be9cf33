// The `mailgate` executable: argument parsing only; the work is in Mailgate.
// The root command is synchronous on purpose: `serve` makes the main thread
// the event loop (FIELD-NOTES: an async main parks it with an empty signal mask).
import ArgumentParser

MailgateCommand.main()
