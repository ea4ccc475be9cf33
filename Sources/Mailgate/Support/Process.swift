// Small process-level helpers the executable shares: the version, the
// environment override for the database, writing to stderr, and reading a
// secret from the terminal without echo.
import Glibc

public enum MailgateVersion {
    public static let current = "0.1.0"
}

public enum Environment {
    /// MAILGATE_DATABASE_URL, which replaces `[database] url` when set and not empty.
    public static var databaseURL: String? {
        guard let value = getenv("MAILGATE_DATABASE_URL") else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}

public enum Standard {
    /// One line to standard error.
    public static func error(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }
}

public enum Terminal {
    public static var isInteractive: Bool { isatty(0) == 1 }

    /// Prompts on stderr and reads one line from stdin with echo off.
    public static func readSecret(prompt: String) -> String? {
        let promptBytes = Array(prompt.utf8)
        _ = promptBytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        var saved = termios()
        let haveTerminal = tcgetattr(0, &saved) == 0
        if haveTerminal {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &silent)
        }
        defer {
            if haveTerminal { tcsetattr(0, TCSAFLUSH, &saved) }
            Standard.error("")
        }
        return readLine(strippingNewline: true)
    }
}
