// Entry points: load a config file (or parse text) into a MailgateConfig, or
// return every error found. Steps: UTF-8 and NUL check, TOMLKit parse (syntax
// errors stop here, with TOMLKit's line; a header toml++ would assert on is
// refused before it), line index, section readers, cross
// checks, secret files. The file is read whole, up to 1 MiB.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ConfigLoader {
    public static let defaultPath = "conf/mailgate.toml"
    /// Larger files are refused: a config is a few kilobytes.
    public static let maximumFileSize = 1 << 20

    /// Reads and checks the config at `path`. `databaseURLOverride` is the value of
    /// MAILGATE_DATABASE_URL (nil or empty: not set); it replaces `[database] url`.
    public static func load(path: String, databaseURLOverride: String? = nil,
                            secrets: any SecretFileChecking = FileSystemSecretChecker())
        -> Result<MailgateConfig, ConfigErrors> {
        switch readFile(path) {
        case .failure(let reason):
            return .failure(ConfigErrors([ConfigError(file: path, line: nil, key: ConfigKeyPath(),
                                                      message: "cannot read the config file: \(reason.reason)")]))
        case .success(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                let line = invalidUTF8Line(bytes)
                return .failure(ConfigErrors([ConfigError(file: path, line: line, key: ConfigKeyPath(),
                                                          message: "the file is not valid UTF-8")]))
            }
            return parse(text: text, file: path, databaseURLOverride: databaseURLOverride, secrets: secrets)
        }
    }

    /// Checks config text; `file` names it in errors. Secret files are still checked on disk
    /// through `secrets` (relative paths from the working directory).
    public static func parse(text: String, file: String, databaseURLOverride: String? = nil,
                             secrets: any SecretFileChecking = FileSystemSecretChecker())
        -> Result<MailgateConfig, ConfigErrors> {
        if let nulOffset = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nulOffset].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            return .failure(ConfigErrors([ConfigError(file: file, line: line, key: ConfigKeyPath(),
                                                      message: "the file contains a NUL byte")]))
        }
        let lines = LineIndex(text: text)
        if let problem = lines.syntaxProblem {
            return .failure(ConfigErrors([ConfigError(file: file, line: problem.line, key: ConfigKeyPath(),
                                                      message: "TOML syntax error: \(problem.message)")]))
        }
        let document: [String: TOMLNode]
        switch TOMLNode.parse(text) {
        case .failure(let syntax):
            return .failure(ConfigErrors([ConfigError(file: file, line: syntax.line, key: ConfigKeyPath(),
                                                      message: "TOML syntax error: \(syntax.message)")]))
        case .success(let table):
            document = table
        }
        let sink = ErrorSink(file: file, lines: lines)
        let root = TableReader(path: ConfigKeyPath(), entries: document, sink: sink)
        var readers = SectionReaders(root: root)
        let server = readers.readServer()
        let database = readers.readDatabase(override: databaseURLOverride)
        let tls = readers.readTLS()
        let submission = readers.readSubmission()
        let imap = readers.readIMAP()
        let inbound = readers.readInbound()
        let relay = readers.readRelay()
        let metrics = readers.readMetrics()
        let unsubscribe = readers.readUnsubscribe()
        let retention = readers.readRetention()
        var accounts: [AccountConfig] = []
        for table in root.tableArray("account") { accounts.append(readers.readAccount(table)) }
        let users = root.tableArray("user").map(readers.readUser)
        var webhooks: [WebhookConfig] = []
        for table in root.tableArray("webhook") { webhooks.append(readers.readWebhook(table)) }
        root.finish()

        let config = MailgateConfig(
            path: file, server: server, database: database, tls: tls, submission: submission, imap: imap,
            inbound: inbound, relay: relay, metrics: metrics, unsubscribe: unsubscribe,
            accounts: accounts, users: users, webhooks: webhooks, retention: retention)
        let checks = CrossChecks(sink: sink)
        checks.run(config)
        checks.checkSecrets(readers.secrets, with: secrets)
        return sink.errors.isEmpty ? .success(config) : .failure(ConfigErrors(sink.errors))
    }

    private static func readFile(_ path: String) -> Result<[UInt8], Refusal> {
        guard let handle = fopen(path, "rb") else { return .failure(Refusal(describe(errno))) }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                fread(buffer.baseAddress, 1, buffer.count, handle)
            }
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if bytes.count > maximumFileSize {
                return .failure(Refusal("larger than \(ByteSize(bytes: maximumFileSize))"))
            }
            if count < chunk.count {
                if ferror(handle) != 0 { return .failure(Refusal(describe(errno))) }
                return .success(bytes)
            }
        }
    }

    private static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    /// Line of the first byte sequence that is not UTF-8 (for the error message).
    private static func invalidUTF8Line(_ bytes: [UInt8]) -> Int {
        var line = 1
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            if String(validating: bytes[start..<index], as: UTF8.self) == nil { return line }
            line += 1
            start = index + 1
        }
        return line
    }
}
