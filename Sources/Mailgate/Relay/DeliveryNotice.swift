// Failure notices (RFC 3464 DSNs) for recipients the relay gave up on. The
// notice goes to the original envelope sender unless the recipient asked
// NOTIFY=NEVER (or NOTIFY without FAILURE); it is queued like any message,
// from the null sender <> so that it can never cause a notice of its own, and
// leaves through the submitting user's accounts.
import Bounce
import Glibc
import Postgres

struct FailedRecipient {
    var claimed: ClaimedRecipient
    var reply: String?
    var expired: Bool
}

enum DeliveryNotice {
    /// The queue rows for the notice about `failures` of `message`, or [] when none is due.
    static func statements(for message: RelayMessage, failures: [FailedRecipient], hostname: String) -> [PGStatement] {
        guard !message.sender.isEmpty else { return [] }  // never a notice about a notice
        let due = failures.filter { DSNComposer.shouldNotify(notify: notifyRequest($0.claimed.notify), action: .failed) }
        guard !due.isEmpty else { return [] }
        let now = Int64(time(nil))
        let recipients = due.map { failure in
            DSNRecipientReport(finalRecipient: failure.claimed.recipient,
                               originalRecipient: originalRecipient(failure.claimed.orcpt), action: .failed,
                               status: status(failure.reply, expired: failure.expired), diagnostic: failure.reply,
                               lastAttemptDate: now)
        }
        let report = DSNReport(envelopeSender: message.sender, envelopeID: message.envelopeID,
                               queueID: message.queueID,
                               returnRequest: message.dsnReturn.flatMap(DSNReturnRequest.init(rawValue:)),
                               recipients: recipients)
        let noticeID = QueueWriter.makeQueueID()
        let messageID = "<\(noticeID.lowercased()).dsn@\(hostname)>"
        let bytes = DSNComposer.compose(report: report, original: message.message, hostname: hostname, date: now,
                                        messageID: messageID)
        guard !bytes.isEmpty else { return [] }
        return [
            PGStatement(
                """
                INSERT INTO email_queue (id, submitted_by, client_address, mail_from, message_id, size, message, priority)
                VALUES ($1, $2, 'mailgate', '', $3, $4, $5, $6)
                """,
                [PGValue(noticeID), PGValue(message.user), PGValue(messageID), PGValue(bytes.count), .bytes(bytes),
                 PGValue(message.priority.queueColumnValue)]),
            PGStatement(
                """
                WITH send AS (
                    INSERT INTO email_sends (queue_id, recipient, notify, priority)
                    VALUES ($1, $2, 'NEVER', $3) RETURNING id, recipient)
                INSERT INTO email_events (queue_id, send_id, recipient, event, reason)
                SELECT $1, id, recipient, 'queued', $4 FROM send
                """,
                [PGValue(noticeID), PGValue(message.sender), PGValue(message.priority.queueColumnValue),
                 PGValue("delivery status notification for \(message.queueID)")]),
            PGStatement("SELECT pg_notify($1, '')", [PGValue(QueueWriter.notifyChannel)]),
        ]
    }

    private static func notifyRequest(_ text: String?) -> DSNNotifyRequest? {
        guard let text else { return nil }
        if text == "NEVER" { return .never }
        return .on(Set(text.split(separator: ",").compactMap { DSNNotifyCondition(rawValue: String($0)) }))
    }

    private static func originalRecipient(_ orcpt: String?) -> DSNOriginalRecipient? {
        guard let orcpt, let semicolon = orcpt.firstIndex(of: ";") else { return nil }
        return DSNOriginalRecipient(addressType: String(orcpt[..<semicolon]),
                                    address: String(orcpt[orcpt.index(after: semicolon)...]))
    }

    /// The enhanced status of the upstream's reply ("550 5.1.1 ..."), else a generic one.
    private static func status(_ reply: String?, expired: Bool) -> String {
        if expired { return "5.4.7" }
        let words = reply?.split(separator: " ") ?? []
        if words.count > 1, words[1].split(separator: ".").count == 3, words[1].first == "5" { return String(words[1]) }
        return "5.0.0"
    }
}
