// What ingestion takes and reports: the direction of a message, the outcome
// of storing it (its row, its thread, whether it was already there) and the
// events a bounce, complaint or delivery report produced, with the JSON line
// `mailgate ingest` prints for each file.
import Bounce

public enum IngestDirection: String, Sendable, CaseIterable {
    case inbound
    case outbound
}

/// One event recorded from a report about an earlier send.
public struct IngestedEvent: Sendable, Equatable {
    public var recipient: String
    /// bounced_hard, bounced_soft, delayed, delivered or complained.
    public var event: String
    public var reason: String
    public var status: String?
    /// The send it was matched to; nil when no send of ours fits (then nothing is suppressed).
    public var queueID: String?
    public var sendID: Int?
    /// Whether this event put the address on the suppression list.
    public var suppressed: Bool
}

public struct IngestOutcome: Sendable, Equatable {
    /// email_messages.id of the stored message (of the earlier copy for a duplicate).
    public var messageRowID: Int
    public var threadID: Int
    public var duplicate: Bool
    public var newThread: Bool
    public var reportType: String?
    public var events: [IngestedEvent]
    /// Messages we relayed that the new one refers to, stored first so that they share its thread.
    public var relayedStored: Int

    public func jsonLine(file: String) -> String {
        let events = self.events.map { event in
            AdminFormat.json([
                ("recipient", .string(event.recipient)), ("event", .string(event.event)), ("reason", .string(event.reason)),
                ("status", .optional(event.status)), ("queue_id", .optional(event.queueID)),
                ("send_id", .optional(event.sendID)), ("suppressed", .bool(event.suppressed)),
            ])
        }
        let head = AdminFormat.json([
            ("file", .string(file)), ("message", .int(messageRowID)), ("thread", .int(threadID)),
            ("duplicate", .bool(duplicate)), ("new_thread", .bool(newThread)), ("report", .optional(reportType)),
            ("relayed_stored", .int(relayedStored)),
        ])
        return String(head.dropLast()) + ",\"events\":[" + events.joined(separator: ",") + "]}"
    }
}

extension ReportType {
    /// The email_messages.report_type value; nil for ordinary mail.
    var column: String? {
        switch self {
        case .bounce: return "bounce"
        case .feedback: return "feedback"
        case .autoReply: return "auto_reply"
        case .deliveryReceipt: return "delivery_receipt"
        case .notABounce: return nil
        }
    }
}

/// PostgreSQL array literals for text[] / bigint[] parameters ("{\"a\",NULL}"); elements are quoted and
/// escaped, so any text without NUL travels intact.
enum PGArray {
    static func text(_ values: [String?]) -> String {
        "{" + values.map { value in
            guard let value else { return "NULL" }
            var quoted = "\""
            for character in value {
                if character == "\\" || character == "\"" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }.joined(separator: ",") + "}"
    }

    static func integers(_ values: [Int]) -> String { "{" + values.map(String.init).joined(separator: ",") + "}" }
}
