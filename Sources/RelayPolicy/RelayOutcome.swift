// What a relay attempt's reply or failure means for the message and the account. Rules, first
// match wins: 2xx sent; provider quota and suspension texts (ReplyPhrases) or 5.4.5; then x.1.x
// and x.2.x after MAIL FROM are the recipient's; rate texts, x.7.28, 421 4.7.x; login failures
// (AUTH phase 5xx, 530/534/535, 5.7.8, "relay access denied"); any other failure before MAIL
// FROM, and 421, is the upstream's (unreachable); then 4xx retry the message, 5xx fail it.
// Account problems cost the message no attempt. Limit: texts are English, as providers send them.

/// Why the account, not the message, failed. Costs the message no attempt; the account pauses
/// (AccountHealth) and the message moves to another eligible account at once.
public enum AccountProblem: Sendable, Hashable, CustomStringConvertible {
    /// Credentials or permission refused (535, 5.7.8, relay denied): paused and reported.
    case authFailed
    /// The provider throttles this account; `retryAfter` is the reply's hint when there was one.
    case rateLimited(retryAfter: Duration?)
    /// The provider's daily quota is spent (550 5.4.5, "daily ... quota exceeded").
    case quotaExhausted
    /// The provider suspended or blocked the account's sending.
    case suspended
    /// Connection, TLS, greeting or server-side failure before any message was involved.
    case unreachable

    public var description: String {
        switch self {
        case .authFailed: "login failed"
        case .rateLimited: "rate limited by the provider"
        case .quotaExhausted: "daily quota exhausted"
        case .suspended: "sending suspended by the provider"
        case .unreachable: "unreachable"
        }
    }
}

/// The verdict on one recipient's attempt.
public enum RelayOutcome: Sendable, Hashable {
    case sent
    /// A temporary failure of this message: retried on the schedule, costs an attempt.
    case retryMessage
    /// A permanent failure of this message: a DSN goes to the sender.
    case failPermanently
    case accountProblem(AccountProblem)

    public var costsAttempt: Bool {
        switch self {
        case .retryMessage, .failPermanently: true
        case .sent, .accountProblem: false
        }
    }

    /// Judges the reply that decides a recipient: a failing reply at any phase, or the reply after
    /// the data (a 2xx before that only means "go on"). `retryHint` is the delay parsed from the
    /// reply text, if any; it is carried into `rateLimited` (the retry schedule takes it
    /// separately for `retryMessage`).
    public static func classify(_ reply: UpstreamReply, in phase: RelayPhase, retryHint: Duration? = nil) -> RelayOutcome {
        if (200...299).contains(reply.code) { return .sent }
        // 1xx, 3xx and nonsense where a final reply was due: treated as a temporary failure.
        let permanent = (500...599).contains(reply.code)
        let status = reply.enhancedStatus
        let text = ReplyPhrases.lowercasedPrefix(reply.text)
        if ReplyPhrases.quota.contains(where: text.contains) || (status == EnhancedStatusCode(5, 4, 5)) {
            return .accountProblem(.quotaExhausted)
        }
        if ReplyPhrases.suspension.contains(where: text.contains) { return .accountProblem(.suspended) }
        // Past the specific quota and suspension phrases (Microsoft sends those as 5.2.0),
        // x.1.x (address) and x.2.x (mailbox) are the recipient's, whatever else the text says.
        let aboutRecipient = status.map { $0.subject == 1 || $0.subject == 2 } ?? false
        if aboutRecipient && !phase.isSessionSetup { return permanent ? .failPermanently : .retryMessage }
        if ReplyPhrases.rate.contains(where: text.contains) || status.map({ $0.subject == 7 && $0.detail == 28 }) == true
            || (reply.code == 421 && status.map({ $0.statusClass == 4 && $0.subject == 7 }) == true) {
            return .accountProblem(.rateLimited(retryAfter: retryHint))
        }
        if phase == .auth {
            return .accountProblem(permanent ? .authFailed : .unreachable)
        }
        if [530, 534, 535].contains(reply.code) || ReplyPhrases.authentication.contains(where: text.contains)
            || status == EnhancedStatusCode(5, 7, 8) || status == EnhancedStatusCode(5, 7, 139) {
            return .accountProblem(.authFailed)
        }
        if phase.isSessionSetup || reply.code == 421 { return .accountProblem(.unreachable) }
        return permanent ? .failPermanently : .retryMessage
    }

    /// Judges a session that ended without a reply. Before MAIL FROM it is the upstream's fault;
    /// inside a transaction the message may have been the trigger (or delivered: at least once),
    /// so it is retried and costs an attempt.
    public static func classify(_ failure: TransportFailure, in phase: RelayPhase) -> RelayOutcome {
        switch failure {
        case .connectFailed, .tlsFailed: return .accountProblem(.unreachable)
        case .timedOut, .connectionLost: return phase.isSessionSetup ? .accountProblem(.unreachable) : .retryMessage
        }
    }
}

/// Lower-case phrases from real provider replies. Matched as substrings of the lower-cased text.
enum ReplyPhrases {
    /// Replies longer than this are judged on their start (bounded work on hostile input).
    static let scannedLength = 4096

    static let quota = [
        "daily user sending limit",            // Gmail 550-5.4.5
        "daily sending quota",                 // Google Workspace 550 5.4.5
        "daily user sending quota",            // Office 365 550 5.4.5
        "daily message quota",                 // Amazon SES 454 Throttling failure
        "submissionquotaexceeded",             // Office 365 554 5.2.0 STOREDRV
        "refusequota",                         // Outlook.com WASCL verdict
        "exceeded the daily",                  // hosting panels
        "sending limit exceeded",
    ]

    static let suspension = [
        "sending suspended",                   // Amazon SES 554
        "sending paused",                      // Amazon SES 554
        "verdict is suspend",                  // Outlook.com WASCL
        "banned sender",                       // Office 365 550 5.7.511
        "account has been suspended",
        "account is suspended",
        "account has been disabled",
    ]

    static let rate = [
        "maximum sending rate exceeded",       // Amazon SES 454 Throttling failure
        "throttl",                             // SES, generic
        "rate limit",
        "ratelimit",
        "rate overlimit",                      // Exim ratelimit ACL
        "unusual rate",                        // Gmail 421-4.7.28 / 550-5.7.1
        "too many login attempts",             // Gmail 454 4.7.0
        "too many messages",
        "too much mail",                       // Postfix anvil 450 4.7.1
        "too many connections",                // Postfix anvil 421 4.7.0
        "too many concurrent",                 // Exim 421
        "exceeded the max emails per hour",    // cPanel Exim 550
        "unexpected volume",                   // Yahoo 421 4.7.0 [TSS04]
        "thread limit exceeded",               // Office 365 432 4.3.2 STOREDRV
        "server busy",                         // Office 365 451 4.7.500
    ]

    static let authentication = [
        "authentication required",             // Gmail 530-5.7.0, SES 530
        "authentication unsuccessful",         // Office 365 535 5.7.3 / 5.7.139
        "client was not authenticated",        // Exchange 530 5.7.57 / 550 5.7.1
        "relay access denied",                 // Postfix 554 5.7.1
        "relaying denied",
        "relay not permitted",                 // Exim 550
    ]

    /// The start of `text`, ASCII lower-cased.
    static func lowercasedPrefix(_ text: String) -> String {
        String(decoding: text.utf8.prefix(scannedLength).map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
