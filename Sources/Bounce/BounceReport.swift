// The classifier's output: whether a message is a bounce and, per recipient,
// the RFC 3463 status, DSN action, hard/soft kind, reason and diagnostic.
// Reason names follow Sisimai's vocabulary so results compare with its labels.
// Complaints (feedback) and auto-replies (vacation) are reports, not bounces.

public enum BounceReason: String, Sendable, CaseIterable {
    case userUnknown = "userunknown"
    case hostUnknown = "hostunknown"
    case hasMoved = "hasmoved"
    case notAccept = "notaccept"
    case mailboxFull = "mailboxfull"
    case mesgTooBig = "mesgtoobig"
    case exceedLimit = "exceedlimit"
    case suspend = "suspend"
    case filtered = "filtered"
    case blocked = "blocked"
    case spamDetected = "spamdetected"
    case virusDetected = "virusdetected"
    case policyViolation = "policyviolation"
    case rejected = "rejected"
    case expired = "expired"
    case noRelaying = "norelaying"
    case securityError = "securityerror"
    case systemError = "systemerror"
    case systemFull = "systemfull"
    case tooManyConn = "toomanyconn"
    case networkError = "networkerror"
    case contentError = "contenterror"
    case mailerError = "mailererror"
    case syntaxError = "syntaxerror"
    case badReputation = "badreputation"
    case authFailure = "authfailure"
    case speeding = "speeding"
    case onHold = "onhold"
    case undefined = "undefined"
    case delivered = "delivered"
    case feedback = "feedback"
    case vacation = "vacation"
}

public enum BounceKind: String, Sendable {
    case hard
    case soft
}

public enum DeliveryAction: String, Sendable {
    case failed
    case delayed
    case delivered
    case relayed
    case expanded

    /// Parses an Action field value, tolerating case, comments and common misspellings.
    static func parse(_ raw: String) -> DeliveryAction? {
        let word = raw.lowercased().split(whereSeparator: { !$0.isLetter }).first.map(String.init) ?? ""
        switch word {
        case "failed", "failure", "fail": return .failed
        case "delayed", "delay", "deferred": return .delayed
        case "delivered", "deliverable": return .delivered
        case "relayed": return .relayed
        case "expanded": return .expanded
        default: return nil
        }
    }
}

public struct RecipientResult: Sendable, Equatable {
    public var recipient: String
    /// RFC 3463 status such as "5.1.1"; nil when the message carries none.
    public var status: String?
    public var action: DeliveryAction?
    public var kind: BounceKind?
    public var reason: BounceReason
    public var diagnostic: String?

    public init(recipient: String, status: String?, action: DeliveryAction?, kind: BounceKind?,
                reason: BounceReason, diagnostic: String?) {
        self.recipient = recipient
        self.status = status
        self.action = action
        self.kind = kind
        self.reason = reason
        self.diagnostic = diagnostic
    }
}

public enum ReportType: String, Sendable {
    case bounce
    case feedback
    case autoReply
    case deliveryReceipt
    case notABounce
}

public struct BounceReport: Sendable, Equatable {
    public var type: ReportType
    public var recipients: [RecipientResult]
    /// Message-ID of the message that bounced, when the bounce returned its headers.
    public var originalMessageID: String?
    /// Our queue id, from X-Mailgate-Queue-ID in the returned headers.
    public var queueID: String?

    public var isBounce: Bool { type == .bounce }

    public static let none = BounceReport(type: .notABounce, recipients: [], originalMessageID: nil, queueID: nil)
}
