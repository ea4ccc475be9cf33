// Readers for the single-table sections: [server], [database], [tls],
// [submission], [imap], [inbound], [relay], [metrics], [unsubscribe]. Each
// reports problems to the sink and returns a value with defaults filled in;
// the loader returns a config only when the sink stayed empty.

import MailCore

/// A secret file named in the config, checked after parsing.
struct SecretReference {
    var key: ConfigKeyPath
    var path: String
    /// tls.private_key may not exist yet (`make run` creates it); its mode is checked when it does.
    var mayBeMissing: Bool
}

enum Expected {
    static let listenAddress = #"an address like "127.0.0.1:587" or "[::1]:587""#
    static let hostname = #"a host name like "mail.example.test""#
    static let path = "a file path"
    static let network = #"a network like "10.0.0.0/8" or "fd00::/8""#
    static let domain = #"a domain like "example.test""#
    static let databaseURL = #"a PostgreSQL URL like "postgresql://mailgate@127.0.0.1:5432/mailgate""#
        + " or a libpq key=value string"
}

struct SectionReaders {
    let root: TableReader
    var secrets: [SecretReference] = []

    init(root: TableReader) {
        self.root = root
    }

    func readServer() -> ServerConfig {
        guard let table = root.table("server") else {
            if root.raw("server") == nil {
                root.sink.report(root.keyPath("server").appending("hostname"),
                                 "missing required key (expected \(Expected.hostname) in a [server] table)")
            }
            return ServerConfig(hostname: "", drainTimeout: ServerConfig.defaultDrainTimeout)
        }
        defer { table.finish() }
        let hostname = table.parsed("hostname", required: true, expected: Expected.hostname) { text in
            MailboxAddress.isDomainName(text) ? text.lowercased() : nil
        }
        let user = table.parsed("user", expected: #"a system user name like "mailgate""#) { text in
            Self.isUserName(text) ? text : nil
        }
        return ServerConfig(hostname: hostname ?? "",
                            drainTimeout: table.duration("drain_timeout", default: ServerConfig.defaultDrainTimeout),
                            user: user)
    }

    /// POSIX-portable user names (lower-case letters, digits, "_", "-", not starting with a digit
    /// or "-"), at most 32 bytes, as useradd accepts them.
    static func isUserName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 32,
              (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) || first == UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    func readDatabase(override: String?) -> DatabaseConfig {
        let table = root.table("database")
        defer { table?.finish() }
        var url = table?.parsed("url", expected: Expected.databaseURL, parse: Self.databaseURL)
        if let override, !override.isEmpty {
            if let valid = Self.databaseURL(override) {
                url = valid
            } else {
                root.sink.append(ConfigError(file: "MAILGATE_DATABASE_URL", line: nil, key: "database.url",
                                             message: "expected \(Expected.databaseURL) in the environment"))
            }
        }
        let poolSize = table?.integer("pool_size", default: DatabaseConfig.defaultPoolSize, range: 1...1000)
        return DatabaseConfig(url: url, poolSize: poolSize ?? DatabaseConfig.defaultPoolSize)
    }

    static func databaseURL(_ text: String) -> String? {
        let lower = text.lowercased()
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") { return text }
        return text.contains("=") ? text : nil
    }

    mutating func readTLS() -> TLSConfig? {
        guard let table = root.table("tls") else { return nil }
        defer { table.finish() }
        let certificate = table.string("certificate", required: true, expected: Expected.path)
        let privateKey = table.string("private_key", required: true, expected: Expected.path)
        if let privateKey {
            secrets.append(SecretReference(key: table.keyPath("private_key"), path: privateKey, mayBeMissing: true))
        }
        return TLSConfig(certificate: certificate ?? "", privateKey: privateKey ?? "")
    }

    func listeners(_ table: TableReader?, _ key: String) -> [SocketAddressSpec] {
        table?.parsedList(key, expected: Expected.listenAddress, parse: SocketAddressSpec.parse) ?? []
    }

    func readSubmission() -> SubmissionConfig {
        typealias Defaults = SubmissionConfig
        let table = root.table("submission")
        defer { table?.finish() }
        let networks = readNetworks(table, "trusted_networks")
        // Judge by what is written, so a mistyped network does not also raise a trusted_user error.
        var networksWritten = false
        if case .array(let elements)? = table?.raw("trusted_networks") { networksWritten = !elements.isEmpty }
        let trustedUser = table?.string("trusted_user", expected: "the name of a [[user]]")
        if networksWritten && table?.raw("trusted_user") == nil {
            table?.missing("trusted_user", expected: "the name of a [[user]] that mail from trusted_networks is sent as")
        }
        if !networksWritten && trustedUser != nil {
            table?.report("trusted_user", "trusted_user has no effect without trusted_networks: set both or neither")
        }
        return SubmissionConfig(
            listen: listeners(table, "listen"),
            listenTLS: listeners(table, "listen_tls"),
            maxMessageSize: table?.byteSize("max_message_size", default: Defaults.defaultMaxMessageSize,
                                            minimum: 1024) ?? Defaults.defaultMaxMessageSize,
            maxRecipients: table?.integer("max_recipients", default: Defaults.defaultMaxRecipients,
                                          range: 1...100_000) ?? Defaults.defaultMaxRecipients,
            maxLineLength: table?.integer("max_line_length", default: Defaults.defaultMaxLineLength,
                                          range: 1000...1_048_576) ?? Defaults.defaultMaxLineLength,
            maxConnectionsPerIP: table?.integer("max_connections_per_ip", default: Defaults.defaultMaxConnectionsPerIP,
                                                range: 1...100_000) ?? Defaults.defaultMaxConnectionsPerIP,
            maxJunkCommands: table?.integer("max_junk_commands", default: Defaults.defaultMaxJunkCommands,
                                            range: 1...10_000) ?? Defaults.defaultMaxJunkCommands,
            idleTimeout: table?.duration("idle_timeout", default: Defaults.defaultIdleTimeout)
                ?? Defaults.defaultIdleTimeout,
            sessionTimeout: table?.duration("session_timeout", default: Defaults.defaultSessionTimeout)
                ?? Defaults.defaultSessionTimeout,
            trustedNetworks: networks,
            trustedUser: trustedUser,
            authFailureDelay: table?.duration("auth_failure_delay", default: Defaults.defaultAuthFailureDelay,
                                              allowZero: true) ?? Defaults.defaultAuthFailureDelay,
            maxAuthFailures: table?.integer("max_auth_failures", default: Defaults.defaultMaxAuthFailures,
                                            range: 1...1000) ?? Defaults.defaultMaxAuthFailures)
    }

    /// CIDR list; "10.1.2.3/8" is refused with a suggestion of the network it meant.
    func readNetworks(_ table: TableReader?, _ key: String) -> [CIDR] {
        guard let table else { return [] }
        guard let node = table.raw(key) else { return [] }
        guard case .array(let elements) = node else {
            table.wrongType(table.keyPath(key), expected: "a list of \(Expected.network)", found: node)
            return []
        }
        var networks: [CIDR] = []
        for (index, element) in elements.enumerated() {
            let at = table.keyPath(key).appending(index: index)
            guard case .string(let text) = element, let network = CIDR.parse(text) else {
                var message = "expected \(Expected.network), found \(element.summary)"
                if case .string(let text) = element, let masked = CIDR.parse(text, maskingHostBits: true) {
                    message += " (host bits set; did you mean \"\(masked)\"?)"
                }
                table.sink.report(at, message)
                continue
            }
            networks.append(network)
        }
        return networks
    }

    func readIMAP() -> IMAPConfig {
        let table = root.table("imap")
        defer { table?.finish() }
        return IMAPConfig(
            listen: listeners(table, "listen"),
            listenTLS: listeners(table, "listen_tls"),
            idleTimeout: table?.duration("idle_timeout", default: IMAPConfig.defaultIdleTimeout)
                ?? IMAPConfig.defaultIdleTimeout,
            upstreamPool: table?.integer("upstream_pool", default: IMAPConfig.defaultUpstreamPool,
                                         range: IMAPConfig.upstreamPoolRange) ?? IMAPConfig.defaultUpstreamPool)
    }

    func readInbound() -> InboundConfig {
        let table = root.table("inbound")
        defer { table?.finish() }
        let listen = listeners(table, "listen")
        let domains = table?.parsedList("domains", expected: Expected.domain) { text in
            MailboxAddress.isDomainName(text) ? text.lowercased() : nil
        }
        if let table, !listen.isEmpty {
            if table.raw("domains") == nil {
                table.missing("domains", expected: "the list of domains inbound mail is accepted for")
            } else if domains?.isEmpty == true {
                table.report("domains", "expected at least one domain when inbound.listen is set")
            }
        }
        return InboundConfig(listen: listen, domains: domains ?? [])
    }

    func readRelay() -> RelayConfig {
        typealias Defaults = RelayConfig
        let table = root.table("relay")
        defer { table?.finish() }
        var retryAfter = Defaults.defaultRetryAfter
        if let table, let list = table.parsedList("retry_after", expected: #"a duration like "2m""#,
                                                   parse: DurationText.parse) {
            if list.isEmpty {
                table.report("retry_after", #"expected at least one retry delay, like ["2m", "4m", "8m"]"#)
            } else if list.contains(.zero) {
                table.report("retry_after", "expected retry delays above zero")
            } else {
                retryAfter = list
            }
        }
        let threshold = table?.parsed("bounce_rate_threshold", expected: #"a percentage like "5%" or "2.5%""#,
                                      parse: Self.perMille) ?? Defaults.defaultBounceRateThresholdPerMille
        let window = table?.integer("bounce_rate_window", default: Defaults.defaultBounceRateWindow,
                                    range: 1...1_000_000) ?? Defaults.defaultBounceRateWindow
        var minimum = table?.integer("bounce_rate_minimum_sends", default: Defaults.defaultBounceRateMinimumSends,
                                     range: 1...1_000_000) ?? Defaults.defaultBounceRateMinimumSends
        if let table, table.raw("bounce_rate_minimum_sends") != nil, minimum > window {
            table.report("bounce_rate_minimum_sends",
                         "expected at most bounce_rate_window (\(window)), found \(minimum)")
        }
        minimum = min(minimum, window)
        return RelayConfig(
            retryAfter: retryAfter,
            lease: table?.duration("lease", default: Defaults.defaultLease) ?? Defaults.defaultLease,
            connectTimeout: table?.duration("connect_timeout", default: Defaults.defaultConnectTimeout)
                ?? Defaults.defaultConnectTimeout,
            commandTimeout: table?.duration("command_timeout", default: Defaults.defaultCommandTimeout)
                ?? Defaults.defaultCommandTimeout,
            healthCheckInterval: table?.duration("health_check_interval", default: Defaults.defaultHealthCheckInterval)
                ?? Defaults.defaultHealthCheckInterval,
            bounceRateThresholdPerMille: threshold,
            bounceRateWindow: window,
            bounceRateMinimumSends: minimum)
    }

    /// "5%", "2.5%", "0.1%" (at most one decimal, at most 100%) as bounces per thousand.
    static func perMille(_ text: String) -> Int? {
        guard text.hasSuffix("%") else { return nil }
        let number = text.dropLast().split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = number.first, !whole.isEmpty, whole.count <= 3, whole.allSatisfy({ $0.isASCII && $0.isNumber }),
              let units = Int(whole), units >= 0 else { return nil }
        var tenths = 0
        if number.count == 2 {
            guard number[1].count == 1, number[1].allSatisfy({ $0.isASCII && $0.isNumber }), let digit = Int(number[1])
            else { return nil }
            tenths = digit
        }
        let value = units * 10 + tenths
        return value <= 1000 ? value : nil
    }

    func readRetention() -> RetentionConfig {
        var retention = RetentionConfig()
        guard let table = root.table("retention") else { return retention }
        defer { table.finish() }
        retention.rawMessages = table.duration("raw_messages", default: retention.rawMessages)
        retention.events = table.duration("events", default: retention.events)
        retention.threads = table.duration("threads", default: retention.threads)
        retention.sentQueue = table.duration("sent_queue", default: retention.sentQueue)
        retention.interval = table.duration("interval", default: retention.interval)
        retention.batchSize = table.integer("batch_size", default: retention.batchSize, range: 1...100_000)
        return retention
    }

    func readMetrics() -> MetricsConfig? {
        guard let table = root.table("metrics") else { return nil }
        defer { table.finish() }
        guard let listen = table.parsed("listen", required: true, expected: Expected.listenAddress,
                                        parse: SocketAddressSpec.parse) else { return nil }
        return MetricsConfig(listen: listen)
    }

    mutating func readUnsubscribe() -> UnsubscribeConfig? {
        guard let table = root.table("unsubscribe") else { return nil }
        defer { table.finish() }
        let listen = table.parsed("listen", required: true, expected: Expected.listenAddress,
                                  parse: SocketAddressSpec.parse)
        let publicURL = table.parsed("public_url", required: true,
                                     expected: #"an https:// URL like "https://mail.example.test/u""#) { text in
            WebURL.parse(text).flatMap { $0.isHTTPS ? $0 : nil }
        }
        let secretFile = table.string("secret_file", required: true, expected: "the path of a secret file")
        if let secretFile {
            secrets.append(SecretReference(key: table.keyPath("secret_file"), path: secretFile, mayBeMissing: false))
        }
        guard let listen, let publicURL, let secretFile else { return nil }
        return UnsubscribeConfig(listen: listen, publicURL: publicURL, secretFile: secretFile)
    }
}
