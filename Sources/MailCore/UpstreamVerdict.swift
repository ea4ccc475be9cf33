// What one upstream reply (or a session that ended without one) means for the message and the
// account: the vocabulary shared by the upstream SMTP client (SMTPProtocol), the relay's account
// health (RelayPolicy) and the relay service. UpstreamReplyClassifier decides; nothing else does.
// Contract: account problems and recipient-limit splits cost the message no attempt.

/// The step of the upstream session a reply or failure belongs to.
public enum UpstreamPhase: Sendable, Hashable, CaseIterable {
    /// TCP connect, TLS handshake (implicit or after STARTTLS) and the 220 greeting.
    case greeting
    case ehlo
    case startTLS
    case auth
    case mailFrom
    case rcptTo
    /// The DATA command (354 expected).
    case data
    /// The reply after the final dot: the upstream takes responsibility.
    case endOfData
    /// RSET or QUIT between messages: no message is involved.
    case reset

    /// Before MAIL FROM (and between messages) nothing is about a message: every failure there
    /// is the account's.
    public var isSessionSetup: Bool {
        switch self {
        case .greeting, .ehlo, .startTLS, .auth, .reset: true
        case .mailFrom, .rcptTo, .data, .endOfData: false
        }
    }
}

/// Why the account, not the message, failed. Costs the message no attempt; the account pauses
/// (RelayPolicy's HealthPolicy) and the message moves to another eligible account at once.
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

/// Whose problem a failure is.
public enum UpstreamScope: Sendable, Hashable {
    /// Nothing failed.
    case none
    /// This message or recipient: counts as a delivery attempt.
    case message
    /// The server took no more recipients in this transaction: send the rest in another one.
    case recipientLimit
    /// The account (or its upstream): pause it; the message moves on at once.
    case account
}

/// The verdict on one reply or failure, per recipient.
public enum UpstreamVerdict: Sendable, Hashable {
    /// 2xx (or an intermediate 3xx): the step went through; after the data, the message is sent.
    case accepted
    /// A temporary failure of this message: retried on the schedule, costs an attempt. `after`
    /// is the reply's retry hint ("try again in 10 minutes"), honoured when later.
    case retryMessage(after: Duration?)
    /// A permanent failure of this message: a DSN goes to the sender.
    case failPermanently
    /// 452 4.5.3 "too many recipients": send this recipient again at once in another
    /// transaction; costs no attempt.
    case recipientLimit
    case accountProblem(AccountProblem)

    public var scope: UpstreamScope {
        switch self {
        case .accepted: .none
        case .retryMessage, .failPermanently: .message
        case .recipientLimit: .recipientLimit
        case .accountProblem: .account
        }
    }

    public var costsAttempt: Bool {
        switch self {
        case .retryMessage, .failPermanently: true
        case .accepted, .recipientLimit, .accountProblem: false
        }
    }
}

/// A session that ended without a (usable) reply.
public enum UpstreamFailure: Sendable, Hashable, CaseIterable {
    /// Refused, no route, DNS failure.
    case connectFailed
    /// Handshake or certificate verification failed, or STARTTLS required but unavailable.
    case tlsFailed
    /// No reply within the command timeout.
    case timedOut
    /// Reset or closed by the peer mid-session.
    case connectionLost
    /// A garbled, oversized or unexpected reply (a 354 where a final reply was due).
    case protocolError
    /// Credentials configured but no usable AUTH mechanism, or an AUTH exchange gone wrong.
    case authenticationImpossible
}
