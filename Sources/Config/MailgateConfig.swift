// The typed, validated configuration: what `ConfigLoader` returns once every
// check passed. Plain Sendable values; defaults are named constants here so the
// shipped conf/mailgate.toml, the loader and the docs agree. Secret files are
// kept as paths (relative to the working directory); nothing here reads them.

public struct MailgateConfig: Sendable, Equatable {
    /// The path the config was loaded from (as given), for messages and reloads.
    public var path: String
    public var server: ServerConfig
    public var database: DatabaseConfig
    /// nil when [tls] is absent (allowed only when no submission or IMAP listener is configured).
    public var tls: TLSConfig?
    public var submission: SubmissionConfig
    public var imap: IMAPConfig
    public var inbound: InboundConfig
    public var relay: RelayConfig
    /// nil when [metrics] is absent: no metrics listener.
    public var metrics: MetricsConfig?
    /// nil when [unsubscribe] is absent: no one-click endpoint, List-Unsubscribe gets mailto only.
    public var unsubscribe: UnsubscribeConfig?
    public var accounts: [AccountConfig]
    public var users: [UserConfig]
    public var webhooks: [WebhookConfig]
    /// [retention]: how long history is kept (defaults: seven years).
    public var retention: RetentionConfig = RetentionConfig()

    public func account(named name: String) -> AccountConfig? {
        accounts.first { $0.name == name }
    }

    public func user(named name: String) -> UserConfig? {
        users.first { $0.name == name }
    }
}

public struct ServerConfig: Sendable, Equatable {
    public static let defaultDrainTimeout: Duration = .seconds(30)

    /// Our name in greetings, Received: headers and Message-IDs.
    public var hostname: String
    /// How long SIGTERM waits for sessions in flight before closing them.
    public var drainTimeout: Duration
    /// Started as root, serve binds its listeners and then runs as this user; nil: stays as started.
    public var user: String? = nil
}

public struct DatabaseConfig: Sendable, Equatable {
    public static let defaultPoolSize = 8

    /// libpq connection string (URI or key=value). nil: `make run` starts a private dev PostgreSQL.
    /// MAILGATE_DATABASE_URL, passed to the loader as an override, replaces the file's value.
    public var url: String?
    /// Connections per node.
    public var poolSize: Int
}

public struct TLSConfig: Sendable, Equatable {
    /// PEM certificate chain. Not checked for existence by the loader (serve loads it).
    public var certificate: String
    /// PEM private key. When it exists it must not be readable or writable by group or others.
    public var privateKey: String
}

public struct SubmissionConfig: Sendable, Equatable {
    public static let defaultMaxMessageSize = ByteSize(bytes: 35 << 20)
    public static let defaultMaxRecipients = 100
    /// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including the CRLF.
    public static let defaultMaxLineLength = 1000
    public static let defaultMaxConnectionsPerIP = 20
    public static let defaultMaxJunkCommands = 10
    public static let defaultIdleTimeout: Duration = .seconds(300)
    public static let defaultSessionTimeout: Duration = .seconds(1800)
    public static let defaultAuthFailureDelay: Duration = .seconds(1)
    public static let defaultMaxAuthFailures = 5

    /// STARTTLS listeners (port 587 style).
    public var listen: [SocketAddressSpec]
    /// Implicit TLS listeners (port 465 style).
    public var listenTLS: [SocketAddressSpec]
    /// Advertised in SIZE; larger messages get 552 5.3.4.
    public var maxMessageSize: ByteSize
    public var maxRecipients: Int
    /// Longest command or text line in octets, including the CRLF (at least 1000).
    public var maxLineLength: Int
    public var maxConnectionsPerIP: Int
    /// Unknown or out-of-place commands before the session is closed.
    public var maxJunkCommands: Int
    /// Between two commands (or data chunks).
    public var idleTimeout: Duration
    /// Whole session, from connect to QUIT.
    public var sessionTimeout: Duration
    /// Clients from these networks may submit without AUTH, as `trustedUser`.
    public var trustedNetworks: [CIDR]
    /// Names a [[user]]; set exactly when `trustedNetworks` is non-empty.
    public var trustedUser: String?
    /// First delay after a failed AUTH; the server grows it with each further failure.
    public var authFailureDelay: Duration
    /// Failed AUTH attempts in one session before it is closed.
    public var maxAuthFailures: Int
}

public struct IMAPConfig: Sendable, Equatable {
    /// RFC 9051 5.4: the autologout timer is at least 30 minutes.
    public static let defaultIdleTimeout: Duration = .seconds(1800)
    public static let defaultUpstreamPool = 2
    public static let upstreamPoolRange = 0...64

    /// STARTTLS listeners (port 143 style).
    public var listen: [SocketAddressSpec]
    /// Implicit TLS listeners (port 993 style).
    public var listenTLS: [SocketAddressSpec]
    public var idleTimeout: Duration
    /// Connections kept ready (TLS and greeting done, not logged in) per
    /// upstream IMAP server while logins happen; 0 dials at each login.
    public var upstreamPool: Int
}

public struct InboundConfig: Sendable, Equatable {
    /// Port 25 style listeners for bounces and replies; empty: no inbound listener.
    public var listen: [SocketAddressSpec]
    /// Recipient domains accepted inbound (lower-cased); required when `listen` is non-empty.
    public var domains: [String]
}

public struct RelayConfig: Sendable, Equatable {
    public static let defaultRetryAfter: [Duration] = [2, 4, 8, 16, 32].map { .seconds($0 * 60) }
    public static let defaultLease: Duration = .seconds(300)
    public static let defaultConnectTimeout: Duration = .seconds(30)
    public static let defaultCommandTimeout: Duration = .seconds(300)

    /// Delay before each retry after a temporary failure; after the last one the failure is permanent.
    public var retryAfter: [Duration]
    /// How long a node holds a claimed message before another node may take it.
    public var lease: Duration
    /// TCP plus TLS handshake to an upstream.
    public var connectTimeout: Duration
    /// Waiting for one upstream reply.
    public var commandTimeout: Duration
    /// How often serve looks for accounts paused until a health check passes (and checks the
    /// bounce rates).
    public var healthCheckInterval: Duration = RelayConfig.defaultHealthCheckInterval
    /// Bounce-rate pause: above this many bounces per thousand of the last `bounceRateWindow`
    /// sends (with at least `bounceRateMinimumSends` of them) an account pauses until an operator
    /// resumes it.
    public var bounceRateThresholdPerMille: Int = RelayConfig.defaultBounceRateThresholdPerMille
    public var bounceRateWindow: Int = RelayConfig.defaultBounceRateWindow
    public var bounceRateMinimumSends: Int = RelayConfig.defaultBounceRateMinimumSends

    public static let defaultHealthCheckInterval: Duration = .seconds(300)
    public static let defaultBounceRateThresholdPerMille = 50
    public static let defaultBounceRateWindow = 200
    public static let defaultBounceRateMinimumSends = 100
}

/// What the purge job deletes and when; every horizon defaults to seven years.
public struct RetentionConfig: Sendable, Equatable {
    public static let defaultHorizon: Duration = .seconds(2557 * 86_400)
    public static let defaultInterval: Duration = .seconds(3600)
    public static let defaultBatchSize = 500

    /// Raw bytes of stored messages (email_messages.raw) older than this are emptied; the
    /// parsed headers, participants and snippet stay.
    public var rawMessages: Duration = RetentionConfig.defaultHorizon
    /// email_events rows older than this are deleted.
    public var events: Duration = RetentionConfig.defaultHorizon
    /// Threads whose last message is older than this are deleted with their messages.
    public var threads: Duration = RetentionConfig.defaultHorizon
    /// Queue rows (message and recipients) older than this whose every recipient is finished
    /// (sent, failed, suppressed) are deleted.
    public var sentQueue: Duration = RetentionConfig.defaultHorizon
    /// How often serve runs the purge.
    public var interval: Duration = RetentionConfig.defaultInterval
    /// Rows per delete statement: small, so no lock is held for long.
    public var batchSize: Int = RetentionConfig.defaultBatchSize

    public init() {}
}

public struct MetricsConfig: Sendable, Equatable {
    /// Prometheus /metrics and health endpoint.
    public var listen: SocketAddressSpec
}

public struct UnsubscribeConfig: Sendable, Equatable {
    /// RFC 8058 one-click endpoint, plain HTTP behind a TLS proxy.
    public var listen: SocketAddressSpec
    /// The https:// URL the proxy publishes; List-Unsubscribe links start with it.
    public var publicURL: WebURL
    /// Key that signs unsubscribe tokens (a secret file).
    public var secretFile: String
}
