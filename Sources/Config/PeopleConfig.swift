// Upstream accounts, gateway users and webhooks: the [[account]], [[user]] and
// [[webhook]] parts of the typed config (priority classes and send-as patterns
// are MailCore's). Names are unique and every reference (user -> account,
// imap_account, trusted_user) names something defined; the loader guarantees both.

import MailCore

/// How mailgate logs in to an upstream account.
public enum UpstreamCredential: Sendable, Equatable {
    /// No AUTH at all (a local smarthost or sink).
    case none
    /// AUTH PLAIN/LOGIN with the password read from this secret file.
    case passwordFile(String)
    /// XOAUTH2 with the bearer token read from this secret file (kept fresh by someone else).
    case oauth2TokenFile(String)
    /// XOAUTH2 with an access token mailgate obtains and refreshes itself (RFC 6749 §6).
    case oauth2Refresh(OAuth2RefreshConfig)
}

/// The `oauth2 = { ... }` table of an account: where and how mailgate refreshes its access token.
/// The token itself is shared by every node through PostgreSQL, never written to a file.
public struct OAuth2RefreshConfig: Sendable, Equatable {
    /// The authorization server's token endpoint: https://, or http:// to a loopback address.
    public var tokenURL: WebURL
    public var clientID: String
    /// Secret file with the client secret; nil for a public client (client_id alone is sent).
    public var clientSecretFile: String?
    /// Secret file with the refresh token granted to mailgate for this account.
    public var refreshTokenFile: String
    /// Optional `scope` parameter of the refresh request (space-separated scopes).
    public var scope: String?
    /// Extra CA bundle for an https:// token endpoint; system CAs otherwise.
    public var caFile: String?

    public init(tokenURL: WebURL, clientID: String, clientSecretFile: String?, refreshTokenFile: String,
                scope: String? = nil, caFile: String? = nil) {
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecretFile = clientSecretFile
        self.refreshTokenFile = refreshTokenFile
        self.scope = scope
        self.caFile = caFile
    }
}

/// Sending limits of one account; nil means no limit of that kind.
public struct AccountLimits: Sendable, Equatable {
    public var perMinute: Int?
    public var perHour: Int?
    public var perDay: Int?

    public init(perMinute: Int? = nil, perHour: Int? = nil, perDay: Int? = nil) {
        self.perMinute = perMinute
        self.perHour = perHour
        self.perDay = perDay
    }
}

/// A warm-up plan: the daily cap in week 1, 2, ... of the account's age; after the last week, no cap.
public struct WarmupPlan: Sendable, Equatable {
    public var started: CalendarDate
    public var dailyPerWeek: [Int]

    /// The cap for an account `ageInDays` days after `started` (day 0 is in week 1); nil once warm.
    public func dailyCap(ageInDays: Int) -> Int? {
        guard ageInDays >= 0 else { return dailyPerWeek.first }
        let week = ageInDays / 7
        return week < dailyPerWeek.count ? dailyPerWeek[week] : nil
    }
}

public struct AccountConfig: Sendable, Equatable {
    public static let defaultWeight = 1
    public static let defaultMaxConnections = 2

    /// Unique; letters, digits, `.`, `_`, `-`, `@` (used in logs, metrics and the database).
    public var name: String
    /// The account's own mailbox address.
    public var address: String
    /// Senders this account may carry; defaults to exactly `address`.
    public var sendAs: [SendAsPattern]
    public var smtp: UpstreamURL
    public var imap: UpstreamURL?
    /// Login name; defaults to `address` when a credential is set, nil without one.
    public var username: String?
    public var credential: UpstreamCredential
    /// Extra CA bundle for the upstream's certificate; system CAs otherwise.
    public var caFile: String?
    /// Share of traffic relative to other accounts, at least 1.
    public var weight: Int
    /// Parallel upstream SMTP sessions, at least 1.
    public var maxConnections: Int
    public var limits: AccountLimits
    public var warmup: WarmupPlan?
    /// Folders the IMAP sync keeps ingested (the first is watched with IDLE); empty: no sync.
    /// Only meaningful with `imap`.
    public var syncFolders: [String] = AccountConfig.defaultSyncFolders
    /// How often the sync looks for new mail when the server has no IDLE (and renews IDLE).
    public var syncPollInterval: Duration = AccountConfig.defaultSyncPollInterval

    public static let defaultSyncFolders = ["INBOX"]
    public static let defaultSyncPollInterval: Duration = .seconds(60)

    /// Whether this account may carry mail from `sender`.
    public func maySendAs(_ sender: MailboxAddress) -> Bool {
        sendAs.contains { $0.matches(sender) }
    }
}

public struct UserConfig: Sendable, Equatable {
    public static let defaultPriority = MessagePriority.normal

    /// Unique login name for SMTP AUTH and IMAP LOGIN.
    public var name: String
    /// crypt(3) hash: yescrypt (`$y$`) or SHA-512-crypt (`$6$`).
    public var passwordHash: String
    /// Senders this user may use (envelope and From:).
    public var sendAs: [SendAsPattern]
    /// Names of accounts this user's mail may leave through (each defined, none repeated).
    public var accounts: [String]
    /// Class of a message that asks for none.
    public var priority: MessagePriority
    /// Highest class this user may ask for; never below `priority`.
    public var maxPriority: MessagePriority
    /// Account whose IMAP server this user reaches through the proxy (it has an `imap` URL).
    public var imapAccount: String?

    /// Whether this user may send as `sender`.
    public func maySendAs(_ sender: MailboxAddress) -> Bool {
        sendAs.contains { $0.matches(sender) }
    }
}

public struct WebhookConfig: Sendable, Equatable {
    /// Event names a webhook may subscribe to: the email_events vocabulary, plus "received"
    /// (a message ingestion stored as inbound).
    public static let knownEvents: [String] = [
        "queued", "sent", "deferred", "failed", "bounced_hard", "bounced_soft", "delayed",
        "delivered", "complained", "unsubscribed", "suppressed", "received",
    ]
    public static let defaultTimeout = Duration.seconds(10)
    public static let defaultRetryMin = Duration.seconds(30)
    public static let defaultRetryMax = Duration.seconds(3600)
    public static let defaultRetryFor = Duration.seconds(3 * 86_400)

    /// Unique; names the webhook's deliveries in the database (defaults to the URL), so a
    /// webhook that keeps its name across a reload keeps its pending deliveries.
    public var name: String
    public var url: WebURL
    public var events: [String]
    /// Key that signs each request body; nil: requests are unsigned.
    public var secretFile: String?
    /// Extra CA bundle for an https:// receiver's certificate; system CAs otherwise.
    public var caFile: String?
    /// Bound on connecting, and separately on the whole exchange after it.
    public var timeout: Duration
    /// First retry delay; each later one doubles, up to retryMax.
    public var retryMin: Duration
    public var retryMax: Duration
    /// How long after the event deliveries are retried before they are marked failed.
    public var retryFor: Duration
}
