// An accepted message on its way into the queue: the envelope as the client
// gave it, the message as it will be relayed (Received and Message-ID added,
// X-Mailgate-Priority removed) and the priority class settled for it.
import MailCore
import SMTPProtocol

struct Submission: Sendable {
    var queueID: String
    var envelope: SMTPEnvelope
    var message: PreparedMessage
    var clientAddress: String

    /// DSN NOTIFY as stored in email_sends.notify ("NEVER" or e.g. "FAILURE,DELAY"); nil when not given.
    static func notifyText(_ notify: DSNNotify?) -> String? {
        switch notify {
        case nil: return nil
        case .never: return "NEVER"
        case .on(let conditions):
            return DSNNotifyCondition.allCases.filter(conditions.contains).map(\.rawValue).joined(separator: ",")
        }
    }

    /// DSN ORCPT as "type;address" (RFC 3461 §4.2), xtext already decoded.
    static func originalRecipientText(_ recipient: SMTPRecipient) -> String? {
        guard let type = recipient.originalRecipientType, let address = recipient.originalRecipientAddress else {
            return nil
        }
        return "\(type);\(address)"
    }
}
