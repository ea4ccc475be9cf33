// What the services record as it happens, through swift-metrics (Prometheus
// behind it once `MetricsRegistry.bootstrap` ran; no-ops before and in unit
// tests). Names follow Prometheus conventions: mailgate_ prefix, _total for
// counters, seconds and bytes. Labels stay bounded: protocols, priorities,
// outcomes, configured account names and fixed reason words — never an
// address, a host or a reply text.
import Bounce
import MailCore
import Metrics
import SMTPProtocol

enum SessionProtocol: String, CaseIterable {
    case submission
    case imap
    case inbound
}

/// A relayed recipient's fate for one attempt.
enum RelayMetricOutcome: String, CaseIterable {
    case sent
    case deferred
    case failed
    case suppressed
}

enum MailgateMetrics {
    enum Name {
        static let sessionsOpen = "mailgate_sessions_open"
        static let sessionsTotal = "mailgate_sessions_total"
        static let messagesAccepted = "mailgate_submission_messages_accepted_total"
        static let refused = "mailgate_submission_refused_total"
        static let relayRecipients = "mailgate_relay_recipients_total"
        static let relayDuration = "mailgate_relay_duration_seconds"
        static let imapBytes = "mailgate_imap_proxy_bytes_total"
        static let imapLogins = "mailgate_imap_proxy_logins_total"
        static let bounces = "mailgate_bounces_total"
    }

    /// Relay latency buckets: a loopback sink answers in milliseconds, a slow provider in tens of seconds.
    static let relayDurationBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
    ]

    // Handles with fixed labels, made on first use (after the bootstrap, which happens before any session).
    private static let open = Dictionary(uniqueKeysWithValues: SessionProtocol.allCases.map {
        ($0, Meter(label: Name.sessionsOpen, dimensions: [("protocol", $0.rawValue)]))
    })
    private static let opened = Dictionary(uniqueKeysWithValues: SessionProtocol.allCases.map {
        ($0, Counter(label: Name.sessionsTotal, dimensions: [("protocol", $0.rawValue)]))
    })
    private static let imapFromClient = Counter(label: Name.imapBytes, dimensions: [("direction", "from_client")])
    private static let imapToClient = Counter(label: Name.imapBytes, dimensions: [("direction", "to_client")])
    private static let relayDuration = Metrics.Timer(label: Name.relayDuration)

    /// Makes the fixed series exist (at zero) from the start, so a scrape never misses them.
    static func registerFixedSeries() {
        _ = (open.count, opened.count, imapFromClient, imapToClient, relayDuration)
    }

    // MARK: Sessions

    static func sessionOpened(_ kind: SessionProtocol) {
        open[kind]?.increment()
        opened[kind]?.increment()
    }

    static func sessionClosed(_ kind: SessionProtocol) {
        open[kind]?.decrement()
    }

    // MARK: Submission

    static func messageAccepted(priority: MessagePriority) {
        Counter(label: Name.messagesAccepted, dimensions: [("priority", priority.name)]).increment()
    }

    /// A refused command or message, by the reply's fixed reason word and code.
    static func refused(_ reply: SMTPReply) {
        refused(SubmissionRefusalReason(reply), code: reply.code)
    }

    static func refused(_ reason: SubmissionRefusalReason, code: Int) {
        let codeLabel = (400...599).contains(code) ? String(code) : "other"
        Counter(label: Name.refused, dimensions: [("reason", reason.rawValue), ("code", codeLabel)]).increment()
    }

    // MARK: Relay

    /// One recipient's outcome; `account` nil when no account was involved (a wait, a suppression).
    static func relayed(_ outcome: RelayMetricOutcome, account: String?) {
        Counter(label: Name.relayRecipients, dimensions: [("account", account ?? "none"), ("outcome", outcome.rawValue)])
            .increment()
    }

    /// From the claim of a message to the upstream's verdict on it.
    static func relayFinished(afterNanoseconds nanoseconds: UInt64) {
        relayDuration.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    // MARK: IMAP proxy

    static func imapBytes(fromClient count: Int) { imapFromClient.increment(by: count) }

    static func imapBytes(toClient count: Int) { imapToClient.increment(by: count) }

    /// A login attempt's audited result: ok, failed (the gateway user) or unavailable (the upstream).
    /// `upstream`: how the upstream was reached, "ready" (a pooled connection) or "new"; "none" when
    /// the login never got that far (a refused gateway password).
    static func imapLogin(result: String, upstream: String?) {
        let resultLabel = ["ok", "failed", "unavailable"].contains(result) ? result : "other"
        let upstreamLabel = upstream.flatMap { ["ready", "new"].contains($0) ? $0 : nil } ?? "none"
        Counter(label: Name.imapLogins, dimensions: [("result", resultLabel), ("upstream", upstreamLabel)]).increment()
    }

    // MARK: Bounces

    /// A recorded bounce or complaint, by the event it recorded and the classifier's fixed reason.
    static func bounceRecorded(event: String, reason: BounceReason) {
        let kind: String
        switch event {
        case "bounced_hard": kind = "hard"
        case "bounced_soft": kind = "soft"
        case "complained": kind = "complaint"
        default: return
        }
        Counter(label: Name.bounces, dimensions: [("kind", kind), ("reason", reason.rawValue)]).increment()
    }
}

/// The fixed words a submission refusal is counted under, read from the reply's codes (the
/// machine's reason text may name addresses and users, so it is never a label).
enum SubmissionRefusalReason: String, CaseIterable {
    case senderNotAllowed = "sender_not_allowed"
    case authenticationRequired = "authentication_required"
    case authenticationFailed = "authentication_failed"
    case tlsRequired = "tls_required"
    case addressSyntax = "address_syntax"
    case protocolError = "protocol_error"
    case messageTooBig = "message_too_big"
    case tooManyRecipients = "too_many_recipients"
    case messageContent = "message_content"
    case tooManyConnections = "too_many_connections"
    case queueUnavailable = "queue_unavailable"
    case temporary = "temporary"
    case other = "other"

    /// Our own replies (SMTPProtocol's table), so their text may be consulted where codes tie.
    init(_ reply: SMTPReply) {
        switch (reply.code, reply.enhanced ?? "") {
        case (553, "5.7.1"): self = .senderNotAllowed
        case (553, "5.6.7"), (501, "5.1.3"), (501, "5.1.7"): self = .addressSyntax
        case (530, _) where reply.lines.contains { $0.contains("STARTTLS") }: self = .tlsRequired
        case (530, _): self = .authenticationRequired
        case (535, _), (501, "5.7.0"): self = .authenticationFailed
        case (538, _): self = .tlsRequired
        case (552, _): self = .messageTooBig
        case (452, "4.5.3"): self = .tooManyRecipients
        case (550, "5.6.0"): self = .messageContent
        case (451, "4.3.0"): self = .queueUnavailable
        case (500...599, _): self = .protocolError
        case (400...499, _): self = .temporary
        default: self = .other
        }
    }
}
