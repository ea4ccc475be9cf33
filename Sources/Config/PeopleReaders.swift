// Readers for [[account]], [[user]] and [[webhook]] entries, one entry at a
// time. References between entries (user -> account, imap_account,
// trusted_user) and duplicate names are checked afterwards by CrossChecks,
// once every entry is read. Secret file paths are collected for the loader.

import MailCore

enum PasswordHashFormat {
    private static let cryptAlphabet = Set(Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8))

    /// nil when `hash` looks like a complete yescrypt or SHA-512-crypt hash; else what is wrong.
    static func problem(_ hash: String) -> String? {
        let expected = #"expected a crypt(3) hash starting with "$y$" (yescrypt) or "$6$" (SHA-512-crypt), "#
            + #"as printed by "mailgate passwd""#
        let parts = hash.split(separator: "$", omittingEmptySubsequences: false)
        let shown = String(hash.prefix(3))
        guard parts.count >= 4, parts[0].isEmpty else {
            return expected + ", found a string starting with \"\(shown)\""
        }
        let digest = parts[parts.count - 1]
        let validDigest = digest.utf8.allSatisfy { cryptAlphabet.contains($0) }
        switch parts[1] {
        case "y":
            guard parts.count == 5, !parts[2].isEmpty, !parts[3].isEmpty, validDigest, digest.utf8.count == 43 else {
                return expected + #", found an incomplete "$y$" hash (it has "$y$params$salt$digest", 43 digest characters)"#
            }
            return nil
        case "6":
            guard parts.count == 4 || (parts.count == 5 && parts[2].hasPrefix("rounds=")),
                  !parts[parts.count - 2].isEmpty, validDigest, digest.utf8.count == 86 else {
                return expected + #", found an incomplete "$6$" hash (it has "$6$salt$digest", 86 digest characters)"#
            }
            return nil
        default:
            return expected + ", found a string starting with \"\(shown)\""
        }
    }
}

extension SectionReaders {
    static let accountNameExpected = "a name of letters, digits, '.', '_', '-' or '@' (at most 64)"

    static func isAccountName(_ text: String) -> Bool {
        text.utf8.count <= 64 && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "-"), UInt8(ascii: "@"):
                return true
            default:
                return false
            }
        }
    }

    static func emailAddress(_ text: String) -> String? {
        guard let (local, domain) = SendAsPattern.splitAddress(text), local != "*" else { return nil }
        return "\(local)@\(domain)"
    }

    static let sendAsExpected = #"an address like "sales@example.test" or a pattern like "*@example.test""#

    mutating func readAccount(_ table: TableReader) -> AccountConfig {
        defer { table.finish() }
        let name = table.parsed("name", required: true, expected: Self.accountNameExpected) { text in
            Self.isAccountName(text) ? text : nil
        }
        let address = table.parsed("address", required: true, expected: #"an address like "sales@example.test""#,
                                   parse: Self.emailAddress)
        var sendAs = table.parsedList("send_as", expected: Self.sendAsExpected, parse: { SendAsPattern($0) })
        if sendAs == nil, let address, let own = SendAsPattern(address) { sendAs = [own] }
        let smtp = readUpstream(table, "smtp", required: true, smtp: true)
        let imap = readUpstream(table, "imap", required: false, smtp: false)
        let username = table.string("username", expected: "a login name")
        let passwordFile = table.string("password_file", expected: "the path of a secret file")
        let tokenFile = table.string("oauth2_token_file", expected: "the path of a secret file")
        var credential = UpstreamCredential.none
        switch (passwordFile, tokenFile) {
        case (let password?, nil):
            credential = .passwordFile(password)
            secrets.append(SecretReference(key: table.keyPath("password_file"), path: password, mayBeMissing: false))
        case (nil, let token?):
            credential = .oauth2TokenFile(token)
            secrets.append(SecretReference(key: table.keyPath("oauth2_token_file"), path: token, mayBeMissing: false))
        case (.some, .some):
            table.report("oauth2_token_file", "password_file and oauth2_token_file exclude each other: keep one")
        case (nil, nil):
            break
        }
        if let oauth2Table = table.table("oauth2") {
            let refresh = readOAuth2(oauth2Table)
            if passwordFile != nil {
                table.report("oauth2", "password_file and oauth2 exclude each other: keep one")
            } else if tokenFile != nil {
                table.report("oauth2", "oauth2 obtains and refreshes the access token itself (shared by every node "
                    + "through PostgreSQL): remove oauth2_token_file")
            } else if let refresh {
                credential = .oauth2Refresh(refresh)
            }
        } else if passwordFile == nil, tokenFile == nil, username != nil {
            table.report("username", "username has no effect without password_file, oauth2_token_file or oauth2")
        }
        let caFile = table.string("ca_file", expected: Expected.path)
        let weight = table.integer("weight", default: AccountConfig.defaultWeight, range: 1...1_000_000)
        let maxConnections = table.integer("max_connections", default: AccountConfig.defaultMaxConnections,
                                           range: 1...1000)
        var limits = AccountLimits()
        if let limitsTable = table.table("limits") {
            let range = 1...1_000_000_000
            limits.perMinute = limitsTable.optionalInteger("per_minute", range: range)
            limits.perHour = limitsTable.optionalInteger("per_hour", range: range)
            limits.perDay = limitsTable.optionalInteger("per_day", range: range)
            limitsTable.finish()
        }
        let warmup = table.table("warmup").flatMap(readWarmup)
        let syncFolders = readSyncFolders(table, imap: imap)
        let syncPollInterval = table.duration("sync_poll_interval", default: AccountConfig.defaultSyncPollInterval)
        if imap == nil, table.raw("sync_poll_interval") != nil {
            table.report("sync_poll_interval", "sync_poll_interval has no effect without an imap URL")
        }
        let defaultUsername: String? = credential == .none ? nil : address
        return AccountConfig(
            name: name ?? "", address: address ?? "", sendAs: sendAs ?? [],
            smtp: smtp ?? UpstreamURL(scheme: .smtp, host: "", port: 0), imap: imap,
            username: username ?? defaultUsername, credential: credential, caFile: caFile,
            weight: weight, maxConnections: maxConnections, limits: limits, warmup: warmup,
            syncFolders: syncFolders, syncPollInterval: syncPollInterval)
    }

    /// `sync_folders`: mailbox names, each once; [] turns the sync off. Needs `imap`.
    func readSyncFolders(_ table: TableReader, imap: UpstreamURL?) -> [String] {
        let expected = #"a mailbox name like "INBOX""#
        guard let folders = table.parsedList("sync_folders", expected: expected, parse: { name in
            name.isEmpty || name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) ? nil : name
        }) else { return AccountConfig.defaultSyncFolders }
        if imap == nil {
            table.report("sync_folders", "sync_folders has no effect without an imap URL")
        }
        var seen = Set<String>()
        for folder in folders where !seen.insert(folder.uppercased() == "INBOX" ? "INBOX" : folder).inserted {
            table.report("sync_folders", "folder \"\(folder)\" is listed twice")
        }
        return folders
    }

    func readUpstream(_ table: TableReader, _ key: String, required: Bool, smtp: Bool) -> UpstreamURL? {
        let expected = smtp
            ? #"an SMTP URL like "smtp://smtp.example.test:587" (smtp://, smtps:// or smtp+plain://)"#
            : #"an IMAP URL like "imaps://imap.example.test:993" (imap://, imaps:// or imap+plain://)"#
        guard let node = table.raw(key) else {
            if required { table.missing(key, expected: expected) }
            return nil
        }
        guard case .string(let text) = node else {
            table.wrongType(table.keyPath(key), expected: expected, found: node)
            return nil
        }
        switch UpstreamURL.parseExplained(text) {
        case .failure(let problem):
            table.report(key, "expected \(expected), found \(node.summary) (\(problem.reason))")
            return nil
        case .success(let url):
            guard url.isSMTP == smtp else {
                table.report(key, "expected \(expected), found \(node.summary)")
                return nil
            }
            guard url.security != .none || url.isLoopback else {
                table.report(key, "\(url.scheme.rawValue):// sends in clear text and is allowed only to a loopback "
                    + "address (127.0.0.1, ::1, localhost); use \(smtp ? "smtp:// or smtps://" : "imap:// or imaps://")")
                return nil
            }
            return url
        }
    }

    func readWarmup(_ table: TableReader) -> WarmupPlan? {
        defer { table.finish() }
        var started: CalendarDate?
        let expectedDate = "a date like 2026-11-01 (unquoted)"
        if let node = table.raw("started") {
            if case .date(let date) = node { started = date } else {
                table.wrongType(table.keyPath("started"), expected: expectedDate, found: node)
            }
        } else {
            table.missing("started", expected: expectedDate)
        }
        var daily: [Int]?
        let expectedDaily = "a list of daily caps per week of age, like [500, 1000, 2000]"
        if let node = table.raw("daily") {
            if case .array(let elements) = node {
                daily = elements.enumerated().compactMap { index, element in
                    TableReader.integer(element, at: table.keyPath("daily").appending(index: index),
                                        range: 1...1_000_000_000, sink: table.sink)
                }
                if elements.isEmpty { table.report("daily", "expected \(expectedDaily), found an empty list") }
            } else {
                table.wrongType(table.keyPath("daily"), expected: expectedDaily, found: node)
            }
        } else {
            table.missing("daily", expected: expectedDaily)
        }
        guard let started, let daily, !daily.isEmpty else { return nil }
        return WarmupPlan(started: started, dailyPerWeek: daily)
    }

    func readUser(_ table: TableReader) -> UserConfig {
        defer { table.finish() }
        let name = table.parsed("name", required: true, expected: "a login name without spaces") { text in
            text.utf8.count <= 256 && text.utf8.allSatisfy { $0 > 32 && $0 != 127 } ? text : nil
        }
        var passwordHash: String?
        if let hash = table.string("password_hash", required: true, expected: #"a crypt(3) hash ("$y$..." or "$6$...")"#) {
            if let problem = PasswordHashFormat.problem(hash) {
                table.report("password_hash", problem)
            } else {
                passwordHash = hash
            }
        }
        let sendAs = table.parsedList("send_as", required: true, expected: Self.sendAsExpected,
                                      parse: { SendAsPattern($0) })
        let accounts = table.parsedList("accounts", required: true, expected: "an account name") { $0 }
        if let accounts, accounts.isEmpty, case .array(let elements)? = table.entries["accounts"], elements.isEmpty {
            table.report("accounts", "expected at least one account name")
        }
        let priorityExpected = "one of " + MessagePriority.allCases.reversed().map { "\"\($0)\"" }.joined(separator: ", ")
        let priority = table.parsed("priority", expected: priorityExpected) { MessagePriority(name: $0) }
            ?? UserConfig.defaultPriority
        let maxPriority = table.parsed("max_priority", expected: priorityExpected) { MessagePriority(name: $0) }
        if let maxPriority, maxPriority < priority {
            table.report("max_priority", "max_priority \"\(maxPriority)\" is below priority \"\(priority)\"")
        }
        let imapAccount = table.string("imap_account", expected: "the name of an [[account]] with an imap URL")
        return UserConfig(name: name ?? "", passwordHash: passwordHash ?? "", sendAs: sendAs ?? [],
                          accounts: accounts ?? [], priority: priority, maxPriority: maxPriority ?? priority,
                          imapAccount: imapAccount)
    }

    mutating func readWebhook(_ table: TableReader) -> WebhookConfig {
        defer { table.finish() }
        let url = table.parsed("url", required: true, expected: #"an http(s):// URL like "https://crm.example.test/hook""#,
                               parse: WebURL.parse)
        let known = WebhookConfig.knownEvents
        let events = table.parsedList("events", required: true,
                                      expected: "an event name (" + known.joined(separator: ", ") + ")") { text in
            known.contains(text) ? text : nil
        }
        if let events, events.isEmpty, case .array(let elements)? = table.entries["events"], elements.isEmpty {
            table.report("events", "expected at least one event name")
        }
        let secretFile = table.string("secret_file", expected: "the path of a secret file")
        if let secretFile {
            secrets.append(SecretReference(key: table.keyPath("secret_file"), path: secretFile, mayBeMissing: false))
        }
        let name = table.string("name", expected: "a name for the webhook's deliveries")
        if let name, name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            table.report("name", "expected a name without control characters")
        }
        let caFile = table.string("ca_file", expected: "the path of a CA certificate file (PEM)")
        if caFile != nil, let url, !url.isHTTPS {
            table.report("ca_file", "ca_file is for https:// URLs; \"\(url.text)\" is plain http")
        }
        let timeout = table.duration("timeout", default: WebhookConfig.defaultTimeout)
        let retryMin = table.duration("retry_min", default: WebhookConfig.defaultRetryMin)
        let retryMax = table.duration("retry_max", default: max(WebhookConfig.defaultRetryMax, retryMin))
        if retryMax < retryMin {
            table.report("retry_max", "retry_max (\(DurationText.render(retryMax))) is below retry_min "
                + "(\(DurationText.render(retryMin)))")
        }
        let retryFor = table.duration("retry_for", default: WebhookConfig.defaultRetryFor)
        let resolvedURL = url ?? WebURL(text: "", isHTTPS: false, host: "")
        return WebhookConfig(name: name ?? resolvedURL.text, url: resolvedURL, events: events ?? [],
                             secretFile: secretFile, caFile: caFile, timeout: timeout, retryMin: retryMin,
                             retryMax: retryMax, retryFor: retryFor)
    }
}
