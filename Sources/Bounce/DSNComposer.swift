// Composes RFC 3464 delivery status notifications (multipart/report: a plain
// text notice, message/delivery-status, the original or its header) as CRLF
// bytes, and says whether a recipient's NOTIFY asks for one. Pure and total:
// every input value is cleaned (CR, LF, NUL and other controls become spaces)
// so nothing can add a header line. 7-bit unless an address is UTF-8 (then
// RFC 6533 message/global-delivery-status) or RET=FULL returns 8-bit content.

/// RFC 3461 NOTIFY conditions (mirrors SMTPProtocol's, which Bounce does not import).
public enum DSNNotifyCondition: String, Sendable, Hashable, CaseIterable {
    case success = "SUCCESS"
    case failure = "FAILURE"
    case delay = "DELAY"
}

/// RFC 3461 NOTIFY: NEVER, or a set of conditions.
public enum DSNNotifyRequest: Sendable, Hashable {
    case never
    case on(Set<DSNNotifyCondition>)
}

/// RFC 3461 RET: the whole message or its header only.
public enum DSNReturnRequest: String, Sendable, Hashable {
    case full = "FULL"
    case headers = "HDRS"
}

/// RFC 3461 ORCPT as given on RCPT TO.
public struct DSNOriginalRecipient: Sendable, Hashable {
    /// The address type, e.g. "rfc822" or "utf-8".
    public var addressType: String
    /// The address, xtext-decoded (the composer encodes it again).
    public var address: String

    public init(addressType: String = "rfc822", address: String) {
        self.addressType = addressType
        self.address = address
    }
}

/// What happened to one recipient.
public struct DSNRecipientReport: Sendable, Hashable {
    /// The RCPT TO address, without angle brackets.
    public var finalRecipient: String
    public var originalRecipient: DSNOriginalRecipient?
    public var action: DeliveryAction
    /// RFC 3463 status such as "5.1.1"; an invalid one is replaced by 5.0.0, 4.0.0 or 2.0.0 by action.
    public var status: String
    /// The host that answered, e.g. "mx.example.net".
    public var remoteMTA: String?
    /// The SMTP reply text as received, e.g. "550 5.1.1 <x@example.net>: User unknown"; the lines of a
    /// multi-line reply are joined with spaces and the whole is cut at 4 KiB.
    public var diagnostic: String?
    /// Unix seconds.
    public var lastAttemptDate: Int64?
    /// Unix seconds; written for delayed recipients only.
    public var willRetryUntil: Int64?

    public init(finalRecipient: String, originalRecipient: DSNOriginalRecipient? = nil, action: DeliveryAction,
                status: String, remoteMTA: String? = nil, diagnostic: String? = nil,
                lastAttemptDate: Int64? = nil, willRetryUntil: Int64? = nil) {
        self.finalRecipient = finalRecipient
        self.originalRecipient = originalRecipient
        self.action = action
        self.status = status
        self.remoteMTA = remoteMTA
        self.diagnostic = diagnostic
        self.lastAttemptDate = lastAttemptDate
        self.willRetryUntil = willRetryUntil
    }
}

/// One DSN about one message: who gets it, the envelope's DSN parameters, and the recipients it covers.
public struct DSNReport: Sendable, Hashable {
    /// The original envelope sender (MAIL FROM), who receives the DSN; without angle brackets.
    public var envelopeSender: String
    /// RFC 3461 ENVID, xtext-decoded.
    public var envelopeID: String?
    /// Our queue id, named in the notice and as X-Mailgate-Queue-ID in the per-message fields.
    public var queueID: String?
    /// Unix seconds when we accepted the message.
    public var arrivalDate: Int64?
    /// RFC 3461 RET; nil when the sender gave none.
    public var returnRequest: DSNReturnRequest?
    public var recipients: [DSNRecipientReport]

    public init(envelopeSender: String, envelopeID: String? = nil, queueID: String? = nil, arrivalDate: Int64? = nil,
                returnRequest: DSNReturnRequest? = nil, recipients: [DSNRecipientReport]) {
        self.envelopeSender = envelopeSender
        self.envelopeID = envelopeID
        self.queueID = queueID
        self.arrivalDate = arrivalDate
        self.returnRequest = returnRequest
        self.recipients = recipients
    }
}

public enum DSNComposer {
    /// Whether a recipient's NOTIFY asks for a DSN about `action`. NEVER: none. SUCCESS covers
    /// delivered, relayed and expanded. No NOTIFY at all counts as FAILURE,DELAY (RFC 3461 5.1 leaves
    /// the default to the MTA; FAILURE,DELAY is the usual one): failures and delays are reported,
    /// successes are not. When a delay is worth a notice (once, after hours) is the relay's call.
    public static func shouldNotify(notify: DSNNotifyRequest?, action: DeliveryAction) -> Bool {
        let conditions: Set<DSNNotifyCondition>
        switch notify {
        case .none: conditions = [.failure, .delay]
        case .never: return false
        case .on(let set): conditions = set
        }
        switch action {
        case .failed: return conditions.contains(.failure)
        case .delayed: return conditions.contains(.delay)
        case .delivered, .relayed, .expanded: return conditions.contains(.success)
        }
    }

    /// The DSN as CRLF lines. `original` is the message as queued; `hostname` our name (Reporting-MTA,
    /// MAILER-DAEMON@hostname); `date` Unix seconds; `messageID` the DSN's own id (with or without
    /// brackets). Empty when there is no one to tell (no usable recipient, or a null envelope sender).
    /// Send it with a null reverse path, with SMTPUTF8 when it holds UTF-8 addresses, and with
    /// BODY=8BITMIME when any octet is above 127.
    public static func compose(report: DSNReport, original: [UInt8], hostname: String, date: Int64,
                               messageID: String) -> [UInt8] {
        let global = !DSNEncoding.isASCII(report.envelopeSender) || report.recipients.contains {
            !DSNEncoding.isASCII($0.finalRecipient) || !DSNEncoding.isASCII($0.originalRecipient?.address ?? "")
        }
        let sender = address(report.envelopeSender, utf8: global)
        let recipients = report.recipients.filter { !address($0.finalRecipient, utf8: global).isEmpty }
        guard !sender.isEmpty, !recipients.isEmpty else { return [] }

        let host = hostName(hostname)
        let actions = Set(recipients.map(\.action))
        let failed = actions.contains(.failed)
        let returned = DSNReturnedContent.part(original: original, full: report.returnRequest == .full && failed,
                                               global: global, failed: failed)
        let originalID = DSNReturnedContent.messageID(original: original, allowUTF8: global)
        let facts = Facts(report: report, recipients: recipients, host: host, global: global, originalID: originalID)
        let notice = DSNNotice.text(facts)
        let status = deliveryStatus(facts)

        let ownID = ownMessageID(messageID, host: host, date: date)
        let boundary = DSNEncoding.boundary(seed: Array("\(ownID) \(date) \(host)".utf8),
                                            avoiding: [notice, status, returned?.body ?? []])
        let eightBit = global || returned?.eightBit == true

        var out: [UInt8] = []
        out += DSNEncoding.field("Date", DSNEncoding.date(date))
        out += DSNEncoding.field("From", "Mail Delivery System <MAILER-DAEMON@\(host)>")
        out += DSNEncoding.field("To", [UInt8(ascii: "<")] + sender + [UInt8(ascii: ">")])
        out += DSNEncoding.field("Subject", subject(actions))
        out += DSNEncoding.field("Message-ID", ownID)
        if let originalID {
            out += DSNEncoding.field("In-Reply-To", originalID)
            out += DSNEncoding.field("References", originalID)
        }
        out += DSNEncoding.field("Auto-Submitted", "auto-replied")
        out += DSNEncoding.field("MIME-Version", "1.0")
        out += DSNEncoding.field("Content-Type", "multipart/report; report-type=delivery-status; boundary=\"\(boundary)\"")
        out += DSNEncoding.field("Content-Transfer-Encoding", eightBit ? "8bit" : "7bit")
        out += DSNEncoding.crlf
        out += Array("This is a MIME-encapsulated delivery status notification.".utf8) + DSNEncoding.crlf

        let delimiter = DSNEncoding.crlf + Array("--\(boundary)".utf8) + DSNEncoding.crlf
        out += delimiter
        out += DSNEncoding.field("Content-Type", global ? "text/plain; charset=utf-8" : "text/plain; charset=us-ascii")
        out += DSNEncoding.field("Content-Description", "Notification")
        out += DSNEncoding.field("Content-Transfer-Encoding", global ? "8bit" : "7bit")
        out += DSNEncoding.crlf + notice
        out += delimiter
        out += DSNEncoding.field("Content-Type", global ? "message/global-delivery-status" : "message/delivery-status")
        out += DSNEncoding.field("Content-Description", "Delivery report")
        out += DSNEncoding.field("Content-Transfer-Encoding", global ? "8bit" : "7bit")
        out += DSNEncoding.crlf + status
        if let returned {
            out += delimiter
            out += returned.mimeHeaders + DSNEncoding.crlf + returned.body
        }
        out += DSNEncoding.crlf + Array("--\(boundary)--".utf8) + DSNEncoding.crlf
        return out
    }

    /// Cleaned inputs shared by the notice and the delivery-status part.
    struct Facts {
        let report: DSNReport
        let recipients: [DSNRecipientReport]
        let host: String
        let global: Bool
        let originalID: String?
        var queueID: [UInt8] { DSNEncoding.clean(report.queueID ?? "", utf8: false, limit: 64).filter { $0 != DSNEncoding.space } }
    }

    // MARK: message/delivery-status

    static func deliveryStatus(_ facts: Facts) -> [UInt8] {
        var out: [UInt8] = []
        if let envelopeID = facts.report.envelopeID, !envelopeID.isEmpty {
            // RFC 3461 4.4/6.3: the ENVID goes back as the xtext it travelled in. Over-long ones
            // (RFC 3461 allows 100 characters) are left out rather than folded, which would change them.
            let encoded = DSNEncoding.xtext(Array(envelopeID.utf8))
            if encoded.count <= 900 { out += DSNEncoding.field("Original-Envelope-Id", encoded) }
        }
        out += DSNEncoding.field("Reporting-MTA", "dns; \(facts.host)")
        if !facts.queueID.isEmpty { out += DSNEncoding.field("X-Mailgate-Queue-ID", facts.queueID) }
        if let arrival = facts.report.arrivalDate { out += DSNEncoding.field("Arrival-Date", DSNEncoding.date(arrival)) }
        for recipient in facts.recipients {
            out += DSNEncoding.crlf
            if let original = recipient.originalRecipient, let value = originalRecipient(original, global: facts.global) {
                out += DSNEncoding.field("Original-Recipient", value)
            }
            let final = address(recipient.finalRecipient, utf8: facts.global)
            let type = DSNEncoding.isASCII(recipient.finalRecipient) ? "rfc822; " : "utf-8; "
            out += DSNEncoding.field("Final-Recipient", Array(type.utf8) + final)
            out += DSNEncoding.field("Action", recipient.action.rawValue)
            out += DSNEncoding.field("Status", status(recipient))
            if let remote = remoteMTA(recipient) { out += DSNEncoding.field("Remote-MTA", Array("dns; ".utf8) + remote) }
            let diagnostic = DSNEncoding.clean(recipient.diagnostic ?? "", utf8: facts.global, limit: DSNEncoding.diagnosticLimit)
            if !diagnostic.isEmpty { out += DSNEncoding.field("Diagnostic-Code", Array("smtp; ".utf8) + diagnostic) }
            if let last = recipient.lastAttemptDate { out += DSNEncoding.field("Last-Attempt-Date", DSNEncoding.date(last)) }
            if recipient.action == .delayed, let until = recipient.willRetryUntil {
                out += DSNEncoding.field("Will-Retry-Until", DSNEncoding.date(until))
            }
        }
        return out
    }

    /// "rfc822; xtext" for ASCII addresses; "utf-8; " with the RFC 6533 form otherwise. Nil when empty or
    /// too long to fit a line unfolded (ORCPT is limited to 500 characters anyway).
    static func originalRecipient(_ original: DSNOriginalRecipient, global: Bool) -> [UInt8]? {
        guard !original.address.isEmpty else { return nil }
        var type = original.addressType.lowercased().utf8.filter { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
        if type.isEmpty { type = Array("rfc822".utf8) }
        let ascii = DSNEncoding.isASCII(original.address)
        if !ascii { type = Array("utf-8".utf8) }
        let value = type == Array("utf-8".utf8)
            ? DSNEncoding.utf8AddressText(original.address, keepUTF8: global)
            : DSNEncoding.xtext(Array(original.address.utf8))
        let field = type + Array("; ".utf8) + value
        return field.count <= 900 ? field : nil
    }

    /// A valid RFC 3463 code (class 2, 4 or 5; subject and detail of 1-3 digits), else one from the action.
    static func status(_ recipient: DSNRecipientReport) -> String {
        let token = recipient.status.split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? ""
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        let valid = parts.count == 3 && ["2", "4", "5"].contains(parts[0])
            && parts[1...].allSatisfy { (1...3).contains($0.count) && $0.utf8.allSatisfy { (48...57).contains($0) } }
        if valid { return parts.joined(separator: ".") }
        switch recipient.action {
        case .failed: return "5.0.0"
        case .delayed: return "4.0.0"
        case .delivered, .relayed, .expanded: return "2.0.0"
        }
    }

    static func remoteMTA(_ recipient: DSNRecipientReport) -> [UInt8]? {
        let cleaned = DSNEncoding.clean(recipient.remoteMTA ?? "", utf8: false, limit: 255)
        return cleaned.isEmpty ? nil : cleaned
    }

    // MARK: Names and headers

    /// An address as written in headers and fields: cleaned, angle brackets removed.
    static func address(_ text: String, utf8: Bool) -> [UInt8] {
        DSNEncoding.clean(text, utf8: utf8, limit: 512).filter { $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }
    }

    /// Letters, digits, dots and hyphens only (an A-label name); "localhost" when nothing is left.
    static func hostName(_ text: String) -> String {
        let kept = text.utf8.prefix(253).filter { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
        return kept.isEmpty ? "localhost" : String(decoding: kept, as: UTF8.self)
    }

    /// "<id>" from the caller's id; one derived from the date and host when it is not a usable msg-id.
    static func ownMessageID(_ text: String, host: String, date: Int64) -> String {
        var value = DSNEncoding.clean(text, utf8: false, limit: 900)
        if value.first == UInt8(ascii: "<"), value.last == UInt8(ascii: ">"), value.count >= 2 {
            value = Array(value.dropFirst().dropLast())
        }
        if DSNEncoding.isASCII(text), let body = DSNReturnedContent.messageIDBody(value) { return "<\(body)>" }
        return "<dsn.\(max(date, 0))@\(host)>"
    }

    static func subject(_ actions: Set<DeliveryAction>) -> String {
        if actions.contains(.failed) { return "Undelivered Mail Returned to Sender" }
        if actions.contains(.delayed) { return "Delayed Mail (still being retried)" }
        return "Successful Mail Delivery Report"
    }
}
