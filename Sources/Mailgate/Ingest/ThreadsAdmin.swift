// `mailgate threads show`: a thread by its id, or the thread of a message by
// its Message-ID (with or without angle brackets), with its messages oldest
// first: time, direction, sender, recipients, subject, Message-ID, snippet,
// attachments and any report it is (bounce, feedback...). Text or JSON lines.
import Postgres
import RelayPolicy
import Threading

public struct ThreadMessage: Sendable {
    public var rowID: Int
    public var time: UTCInstant?
    public var direction: String
    public var account: String
    public var folder: String?
    public var messageID: String?
    public var subject: String
    public var from: [String]
    public var to: [String]
    public var snippet: String
    public var attachments: Int
    public var reportType: String?
    public var queueID: String?
}

public struct ThreadView: Sendable {
    public var id: Int
    public var subject: String
    public var firstAt: UTCInstant?
    public var lastAt: UTCInstant?
    public var messages: [ThreadMessage]
}

public struct ThreadsAdmin {
    let pool: PGPool

    public init(pool: PGPool) { self.pool = pool }

    /// nil when no thread or message matches `reference` (a thread id, or a Message-ID).
    public func show(_ reference: String, completion: @escaping (Result<ThreadView?, PGError>) -> Void) {
        let isNumber = !reference.isEmpty && reference.utf8.count <= 18 && reference.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
        let threadID = isNumber ? Int(reference) : nil
        let messageID = MessageIDs.first(reference.contains("<") ? reference : "<\(reference)>")
        pool.batch([
            PGStatement("""
                SELECT t.id, t.subject_normalised, \(SQLTime.seconds("t.first_message_at")) AS first,
                       \(SQLTime.seconds("t.last_message_at")) AS last
                FROM email_threads t
                WHERE t.id = $1::bigint OR t.id = (SELECT thread_id FROM email_messages WHERE message_id = $2 ORDER BY id LIMIT 1)
                ORDER BY (t.id = $1::bigint) DESC NULLS LAST LIMIT 1
                """, [threadID.map { PGValue($0) }, messageID.map { PGValue($0) }]),
            PGStatement("""
                SELECT m.id, \(SQLTime.seconds("coalesce(m.sent_at, m.received_at)")) AS at, m.direction, m.account,
                       m.folder, m.message_id, m.subject, m.snippet, m.report_type, m.queue_id,
                       (SELECT count(*) FROM email_message_attachments a WHERE a.message_id = m.id) AS attachments,
                       (SELECT string_agg(p.address, ',' ORDER BY p.position) FROM email_message_participants p
                        WHERE p.message_id = m.id AND p.role = 'from') AS senders,
                       (SELECT string_agg(p.address, ',' ORDER BY p.position) FROM email_message_participants p
                        WHERE p.message_id = m.id AND p.role IN ('to', 'cc')) AS recipients
                FROM email_messages m
                WHERE m.thread_id = (SELECT t.id FROM email_threads t
                    WHERE t.id = $1::bigint OR t.id = (SELECT thread_id FROM email_messages WHERE message_id = $2 ORDER BY id LIMIT 1)
                    ORDER BY (t.id = $1::bigint) DESC NULLS LAST LIMIT 1)
                ORDER BY coalesce(m.sent_at, m.received_at), m.id
                """, [threadID.map { PGValue($0) }, messageID.map { PGValue($0) }]),
        ]) { result in
            completion(result.map { results in
                guard results.count == 2, let thread = results[0].first, let id = thread.int("id") else { return nil }
                return ThreadView(id: id, subject: thread.string("subject_normalised") ?? "",
                                  firstAt: SQLTime.instant(thread["first"]), lastAt: SQLTime.instant(thread["last"]),
                                  messages: results[1].rows.compactMap(Self.message))
            })
        }
    }

    static func message(_ row: PGRow) -> ThreadMessage? {
        guard let id = row.int("id") else { return nil }
        func list(_ name: String) -> [String] { (row.string(name) ?? "").split(separator: ",").map(String.init) }
        return ThreadMessage(rowID: id, time: SQLTime.instant(row["at"]), direction: row.string("direction") ?? "",
                             account: row.string("account") ?? "", folder: row.string("folder"),
                             messageID: row.string("message_id"), subject: row.string("subject") ?? "",
                             from: list("senders"), to: list("recipients"), snippet: row.string("snippet") ?? "",
                             attachments: row.int("attachments") ?? 0, reportType: row.string("report_type"),
                             queueID: row.string("queue_id"))
    }

    // MARK: Output

    public static func lines(_ thread: ThreadView) -> [String] {
        let span = [thread.firstAt, thread.lastAt].compactMap { $0.map { "\($0)" } }.joined(separator: " .. ")
        var lines = ["Thread \(thread.id): \"\(thread.subject)\", \(thread.messages.count) message"
                     + (thread.messages.count == 1 ? "" : "s") + (span.isEmpty ? "" : ", \(span)")]
        for message in thread.messages {
            let when = message.time.map { "\($0)" } ?? "-"
            var line = "  #\(message.rowID) \(when) \(message.direction) from \(message.from.joined(separator: ", "))"
            if !message.to.isEmpty { line += " to \(message.to.joined(separator: ", "))" }
            lines.append(line)
            lines.append("    Subject: \(message.subject)")
            if let id = message.messageID { lines.append("    Message-ID: <\(id)>") }
            var facts: [String] = ["account \(message.account)"]
            if let folder = message.folder { facts.append("folder \(folder)") }
            if let queueID = message.queueID { facts.append("queue id \(queueID)") }
            if let report = message.reportType { facts.append("report: \(report)") }
            if message.attachments > 0 { facts.append("\(message.attachments) attachment(s)") }
            lines.append("    " + facts.joined(separator: ", "))
            if !message.snippet.isEmpty { lines.append("    | \(message.snippet)") }
        }
        return lines
    }

    /// One JSON object per message, each naming its thread.
    public static func json(_ thread: ThreadView) -> [String] {
        thread.messages.map { message in
            AdminFormat.json([
                ("thread", .int(thread.id)), ("thread_subject", .string(thread.subject)), ("message", .int(message.rowID)),
                ("time", .optional(message.time)), ("direction", .string(message.direction)),
                ("account", .string(message.account)), ("folder", .optional(message.folder)),
                ("message_id", .optional(message.messageID)), ("subject", .string(message.subject)),
                ("from", .string(message.from.joined(separator: ","))), ("to", .string(message.to.joined(separator: ","))),
                ("snippet", .string(message.snippet)), ("attachments", .int(message.attachments)),
                ("report", .optional(message.reportType)), ("queue_id", .optional(message.queueID)),
            ])
        }
    }
}
