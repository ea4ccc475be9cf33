// Output of `mailgate queue list` and `queue show`: an aligned table (newest
// last, a summary line like mailq's) or JSON lines with fixed keys, and the
// show page: envelope, recipients with status, attempts, next attempt, account,
// last reply and why each waits, then the message's events in order.
import RelayPolicy

public enum QueueReport {
    // MARK: list

    public static func listLines(_ listing: QueueListing) -> [String] {
        guard !listing.entries.isEmpty else { return ["Mail queue is empty"] }
        var rows = [["QUEUE ID", "AGE", "SIZE", "PRIORITY", "RCPTS", "NEXT ATTEMPT", "HELD", "SENDER"]]
        for entry in listing.entries {
            let age = AdminFormat.age(seconds: listing.now.duration(since: entry.createdAt).components.seconds)
            rows.append([entry.id, age, String(entry.size), entry.priority.name, "\(entry.waiting)/\(entry.recipients)",
                         nextAttempt(entry, now: listing.now), entry.held ? "held" : "-", senderText(entry.sender)])
        }
        let waiting = listing.entries.reduce(0) { $0 + $1.waiting }
        let bytes = listing.entries.reduce(0) { $0 + $1.size }
        let count = listing.entries.count
        return AdminFormat.table(rows)
            + ["-- \(count) message\(count == 1 ? "" : "s"), \(bytes) bytes, \(waiting) recipient\(waiting == 1 ? "" : "s") waiting"]
    }

    public static func listJSON(_ listing: QueueListing) -> [String] {
        listing.entries.map { entry in
            AdminFormat.json([
                ("id", .string(entry.id)), ("created_at", .string("\(entry.createdAt)")),
                ("age_seconds", .int(Int(max(0, listing.now.duration(since: entry.createdAt).components.seconds)))),
                ("size", .int(entry.size)), ("sender", .string(entry.sender)), ("priority", .string(entry.priority.name)),
                ("waiting", .int(entry.waiting)), ("recipients", .int(entry.recipients)),
                ("next_attempt_at", .optional(entry.nextAttempt)), ("held", .bool(entry.held)),
            ])
        }
    }

    static func nextAttempt(_ entry: QueueListEntry, now: UTCInstant) -> String {
        guard let next = entry.nextAttempt else { return "-" }
        return next > now ? "\(next)" : "now"
    }

    static func senderText(_ sender: String) -> String { sender.isEmpty ? "<>" : sender }

    // MARK: show

    public static func showLines(_ message: QueuedMessage) -> [String] {
        let now = message.now
        var lines = [
            "Queue ID:    \(message.id)",
            "Submitted:   \(AdminFormat.moment(message.createdAt, now: now)) by \(message.submittedBy) from \(message.clientAddress)",
            "Sender:      \(senderText(message.sender))",
            "Message-ID:  \(message.messageID ?? "-")",
            "Size:        \(message.size) bytes",
            "Priority:    \(message.priority.name)",
            "Body:        \(message.bodyType)\(message.smtpUTF8 ? ", SMTPUTF8" : "")",
            "Held:        \(message.held ? "yes (mailgate queue release \(message.id))" : "no")",
        ]
        if message.envelopeID != nil || message.dsnReturn != nil {
            lines.append("DSN:         ENVID=\(message.envelopeID ?? "-") RET=\(message.dsnReturn ?? "-")")
        }
        if let notBefore = message.notBefore, notBefore > now {
            lines.append("Not before:  \(AdminFormat.moment(notBefore, now: now))")
        }
        lines.append("")
        lines.append("Recipients (\(message.recipients.count)):")
        for recipient in message.recipients {
            lines.append("  \(recipient.recipient)")
            var state = "    status: \(recipient.statusText), attempts: \(recipient.attempts)"
            if let next = recipient.nextAttempt, recipient.status?.isWaiting ?? true {
                state += ", next attempt: \(AdminFormat.moment(next, now: now))"
            }
            lines.append(state)
            if let account = recipient.account { lines.append("    account: \(account)") }
            if let reply = recipient.lastReply { lines.append("    last reply: \(reply)") }
            if let sentAt = recipient.sentAt { lines.append("    sent: \(sentAt)") }
            if let why = recipient.whyItWaits(now: now, messageHeld: message.held, notBefore: message.notBefore) {
                lines.append("    waits: \(why)")
            }
            if recipient.notify != nil || recipient.orcpt != nil {
                lines.append("    dsn: NOTIFY=\(recipient.notify ?? "-") ORCPT=\(recipient.orcpt ?? "-")")
            }
        }
        lines.append("")
        lines.append("Events (\(message.events.count)):")
        for event in message.events {
            var line = "  \(event.at)  \(AdminFormat.pad(event.event, 12)) \(event.recipient ?? "-")"
            if let account = event.account { line += "  account=\(account)" }
            if let reason = event.reason { line += "  reason=\(reason)" }
            if let detail = event.detail { line += "  \(detail)" }
            lines.append(line)
        }
        return lines
    }

    public static func showJSON(_ message: QueuedMessage) -> String {
        let recipients = message.recipients.map { recipient in
            AdminFormat.json([
                ("recipient", .string(recipient.recipient)), ("status", .string(recipient.statusText)),
                ("attempts", .int(recipient.attempts)), ("next_attempt_at", .optional(recipient.nextAttempt)),
                ("account", .optional(recipient.account)), ("last_reply", .optional(recipient.lastReply)),
                ("wait_reason", .optional(recipient.waitReason)),
                ("waits", .optional(recipient.whyItWaits(now: message.now, messageHeld: message.held,
                                                         notBefore: message.notBefore))),
                ("lease_owner", .optional(recipient.leaseOwner)), ("lease_expires_at", .optional(recipient.leaseExpires)),
                ("sent_at", .optional(recipient.sentAt)),
            ])
        }
        let events = message.events.map { event in
            AdminFormat.json([
                ("at", .string("\(event.at)")), ("event", .string(event.event)), ("recipient", .optional(event.recipient)),
                ("account", .optional(event.account)), ("reason", .optional(event.reason)), ("detail", .optional(event.detail)),
            ])
        }
        let envelope = AdminFormat.json([
            ("id", .string(message.id)), ("created_at", .string("\(message.createdAt)")),
            ("submitted_by", .string(message.submittedBy)), ("client_address", .string(message.clientAddress)),
            ("sender", .string(message.sender)), ("message_id", .optional(message.messageID)),
            ("size", .int(message.size)), ("priority", .string(message.priority.name)), ("held", .bool(message.held)),
            ("not_before", .optional(message.notBefore)), ("envid", .optional(message.envelopeID)),
            ("ret", .optional(message.dsnReturn)), ("body_type", .string(message.bodyType)),
            ("smtputf8", .bool(message.smtpUTF8)),
        ])
        // The envelope object, opened again to append the two arrays (already encoded).
        return String(envelope.dropLast()) + ",\"recipients\":[" + recipients.joined(separator: ",")
            + "],\"events\":[" + events.joined(separator: ",") + "]}"
    }
}
