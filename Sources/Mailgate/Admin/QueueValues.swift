// What the admin's queue commands read and change: one line of `queue list`,
// the whole of `queue show` (envelope, recipients, events), and the outcome of
// retry/hold/release/delete. A recipient "waits" while its status is queued,
// deferred, sending or held; sent, failed and suppressed are final.
// `whyItWaits` answers SPEC §2's "why it waits, and until when".
import MailCore
import RelayPolicy

/// email_sends.status (migration 0002).
public enum RecipientStatus: String, Sendable, CaseIterable {
    case queued, sending, deferred, sent, failed, suppressed, held

    public var isWaiting: Bool {
        switch self {
        case .queued, .sending, .deferred, .held: true
        case .sent, .failed, .suppressed: false
        }
    }
}

public struct QueueListFilter: Sendable {
    public var heldOnly = false
    /// Envelope sender, compared without regard to case; "" or "<>" selects the null sender.
    public var sender: String?
    public var priority: MessagePriority?
    /// Also messages none of whose recipients waits any more.
    public var includeFinished = false

    public init() {}
}

public struct QueueListEntry: Sendable {
    public var id: String
    public var createdAt: UTCInstant
    public var size: Int
    public var sender: String
    public var priority: MessagePriority
    public var waiting: Int
    public var recipients: Int
    /// Earliest next attempt among queued and deferred recipients; nil when none is scheduled.
    public var nextAttempt: UTCInstant?
    public var held: Bool
}

public struct QueueListing: Sendable {
    /// The database's clock when the list was read.
    public var now: UTCInstant
    public var entries: [QueueListEntry]
}

public struct QueuedRecipient: Sendable {
    public var recipient: String
    /// The status text as stored; `status` is its typed form.
    public var statusText: String
    public var attempts: Int
    public var nextAttempt: UTCInstant?
    public var account: String?
    public var lastReply: String?
    public var waitReason: String?
    public var leaseOwner: String?
    public var leaseExpires: UTCInstant?
    public var notify: String?
    public var orcpt: String?
    public var sentAt: UTCInstant?

    public var status: RecipientStatus? { RecipientStatus(rawValue: statusText) }

    /// Why this recipient is not relayed yet and until when; nil once its status is final.
    public func whyItWaits(now: UTCInstant, messageHeld: Bool, notBefore: UTCInstant?) -> String? {
        guard let status else { return "unknown status \(statusText)" }
        let stored = waitReason.flatMap { $0.isEmpty ? nil : $0 }
        let later = nextAttempt.map { $0 > now } ?? false
        switch status {
        case .sent, .failed, .suppressed:
            return nil
        case .held:
            return "held by the admin (mailgate queue release \u{2026})"
        case .sending:
            guard let leaseExpires else { return "being relayed" }
            let owner = leaseOwner.map { " by \($0)" } ?? ""
            if leaseExpires > now {
                return "being relayed\(owner) (lease until \(AdminFormat.moment(leaseExpires, now: now)))"
            }
            return "lease\(owner) expired at \(leaseExpires): another node will pick it up"
        case .queued, .deferred:
            if messageHeld { return "the message is held (mailgate queue release \u{2026})" }
            if let stored, let nextAttempt, later { return "\(stored); next attempt \(AdminFormat.moment(nextAttempt, now: now))" }
            if let stored { return stored }
            guard let nextAttempt, later else { return "due now: waiting for a relay to claim it" }
            if status == .queued, let notBefore, notBefore > now {
                return "future release (FUTURERELEASE) until \(AdminFormat.moment(max(notBefore, nextAttempt), now: now))"
            }
            if status == .deferred {
                return "retry after attempt \(attempts) at \(AdminFormat.moment(nextAttempt, now: now))"
            }
            return "not due until \(AdminFormat.moment(nextAttempt, now: now))"
        }
    }
}

public struct QueueEventRecord: Sendable {
    public var at: UTCInstant
    public var event: String
    public var recipient: String?
    public var account: String?
    public var reason: String?
    public var detail: String?
}

public struct QueuedMessage: Sendable {
    public var now: UTCInstant
    public var id: String
    public var submittedBy: String
    public var clientAddress: String
    public var sender: String
    public var envelopeID: String?
    public var dsnReturn: String?
    public var bodyType: String
    public var smtpUTF8: Bool
    public var messageID: String?
    public var size: Int
    public var priority: MessagePriority
    public var notBefore: UTCInstant?
    public var held: Bool
    public var createdAt: UTCInstant
    public var recipients: [QueuedRecipient]
    public var events: [QueueEventRecord]
}

/// What retry, hold, release or delete did to one message.
public enum QueueChange: Sendable, Equatable {
    /// No message with that id.
    case notFound
    /// `recipients` changed; `inFlight` are being relayed now and were left alone.
    case changed(recipients: Int, inFlight: Int, messageHeld: Bool)
    /// delete refused: recipients are being relayed under live leases (owners named).
    case busy(recipients: Int, owners: [String])
    /// delete done, with the number of recipient rows it removed.
    case deleted(recipients: Int)
}
