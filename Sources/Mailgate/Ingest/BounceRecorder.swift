// What a bounce, complaint or delivery report means for our sends, inside the
// ingest transaction. Each recipient is matched to a send: by our queue id
// (X-Mailgate-Queue-ID or our Received line in the returned headers) or the
// original Message-ID, with the recipient; else the only recipient of that
// message; else our latest send to that address within 30 days. Unmatched
// reports are recorded but suppress nothing: anyone can mail a fake bounce.
import Bounce
import MailCore
import Postgres
import Threading

struct BounceRecorder {
    let connection: PGConnection

    func record(_ message: PendingMessage, done: @escaping (Result<[IngestedEvent], PGError>) -> Void) {
        let report = message.report
        let pending: [(RecipientResult, String)] = report.recipients.compactMap { result in
            Self.event(for: result, in: report.type).map { (result, $0) }
        }
        next(pending[...], message: message, recorded: [], done: done)
    }

    /// The event a recipient result records; nil for what is not about a send's fate (auto-replies).
    static func event(for result: RecipientResult, in type: ReportType) -> String? {
        switch type {
        case .bounce:
            if result.action == .delayed { return "delayed" }
            if result.action == .delivered { return "delivered" }
            return result.kind == .hard ? "bounced_hard" : "bounced_soft"
        case .feedback:
            return "complained"
        case .deliveryReceipt:
            return result.action == .delivered || (result.action == nil && result.reason == .delivered) ? "delivered" : nil
        case .autoReply, .notABounce:
            return nil
        }
    }

    private func next(_ pending: ArraySlice<(RecipientResult, String)>, message: PendingMessage, recorded: [IngestedEvent],
                      done: @escaping (Result<[IngestedEvent], PGError>) -> Void) {
        guard let (result, event) = pending.first else { return done(.success(recorded)) }
        recordOne(result, event: event, message: message) { outcome in
            switch outcome {
            case .failure(let error): done(.failure(error))
            case .success(let recordedEvent):
                MailgateMetrics.bounceRecorded(event: event, reason: result.reason)
                next(pending.dropFirst(), message: message, recorded: recorded + [recordedEvent], done: done)
            }
        }
    }

    struct MatchedSend {
        var sendID: Int
        var queueID: String
        var account: String?
        var status: String
    }

    private func recordOne(_ result: RecipientResult, event: String, message: PendingMessage,
                           done: @escaping (Result<IngestedEvent, PGError>) -> Void) {
        let recipient = Participants.normalisedAddress(result.recipient) ?? StoredText.clean(result.recipient, limit: 320).lowercased()
        var queueIDs = message.facts.mailgateQueueIDs
        if let id = message.report.queueID, QueueID.isValid(id), !queueIDs.contains(id) { queueIDs.append(id) }
        let originalID = message.report.originalMessageID.flatMap(MessageIDs.first)
        let messageIDs = originalID.map { ["<\($0)>", $0] } ?? []
        connection.batch([
            PGStatement("""
                SELECT s.id, s.queue_id, s.account, s.status, lower(s.recipient) AS recipient FROM email_sends s
                WHERE s.queue_id IN (SELECT id FROM email_queue WHERE id = ANY($1::text[]) OR message_id = ANY($2::text[]))
                ORDER BY s.id
                """, [PGValue(PGArray.text(queueIDs)), PGValue(PGArray.text(messageIDs))]),
            PGStatement("""
                SELECT s.id, s.queue_id, s.account, s.status FROM email_sends s
                WHERE lower(s.recipient) = $1 AND s.sent_at > now() - interval '30 days'
                ORDER BY (s.account = $2) DESC, s.sent_at DESC LIMIT 1
                """, [PGValue(recipient), PGValue(message.account)]),
        ]) { lookup in
            switch lookup {
            case .failure(let error):
                done(.failure(error))
            case .success(let results):
                let match = Self.pick(recipient: recipient, byIDs: results.first?.rows ?? [],
                                      byAddress: results.count > 1 ? results[1].rows : [])
                write(result, event: event, recipient: recipient, match: match, account: message.account, done: done)
            }
        }
    }

    static func pick(recipient: String, byIDs: [PGRow], byAddress: [PGRow]) -> MatchedSend? {
        func send(_ row: PGRow) -> MatchedSend? {
            guard let id = row.int("id"), let queueID = row.string("queue_id") else { return nil }
            return MatchedSend(sendID: id, queueID: queueID, account: row.string("account"), status: row.string("status") ?? "")
        }
        if let exact = byIDs.first(where: { $0.string("recipient") == recipient }) { return send(exact) }
        if byIDs.count == 1, let only = byIDs.first { return send(only) }
        return byAddress.first.flatMap(send)
    }

    private func write(_ result: RecipientResult, event: String, recipient: String, match: MatchedSend?, account: String,
                       done: @escaping (Result<IngestedEvent, PGError>) -> Void) {
        let detail = [result.status, result.diagnostic.map { StoredText.clean($0, limit: 4_000) }]
            .compactMap { $0 }.joined(separator: " ")
        var statements = [PGStatement("""
            INSERT INTO email_events (queue_id, send_id, recipient, event, account, reason, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, [match.map { PGValue($0.queueID) }, match.map { PGValue($0.sendID) }, PGValue(recipient), PGValue(event),
                  PGValue(match?.account ?? account), PGValue(result.reason.rawValue), detail.isEmpty ? nil : PGValue(detail)])]
        var recorded = IngestedEvent(recipient: recipient, event: event, reason: result.reason.rawValue, status: result.status,
                                     queueID: match?.queueID, sendID: match?.sendID, suppressed: false)
        guard let match else {
            return connection.batch(statements) { done($0.map { _ in recorded }) }
        }
        if event == "bounced_hard" || event == "bounced_soft" {
            statements.append(PGStatement("""
                UPDATE email_sends SET status = 'failed', last_reply = coalesce($2, last_reply), updated_at = now()
                WHERE id = $1 AND status = 'sent'
                """, [PGValue(match.sendID), result.diagnostic.map { PGValue(StoredText.clean($0, limit: 4_000)) }]))
        }
        switch event {
        case "bounced_hard", "complained":
            let source = event == "complained" ? "complaint" : "bounce"
            statements.append(Self.suppress(recipient, reason: Self.reasonText(event, result), source: source))
            connection.batch(statements) { written in
                done(written.map { results in
                    recorded.suppressed = (results.last?.count ?? 0) > 0
                    return recorded
                })
            }
        case "bounced_soft":
            statements.append(Self.recentSends(recipient))
            connection.batch(statements) { written in
                switch written {
                case .failure(let error):
                    done(.failure(error))
                case .success(let results):
                    let sends = (results.last?.rows ?? []).map(Self.sentRecord)
                    guard SoftBounceStreak.suppresses(sends) else { return done(.success(recorded)) }
                    let reason = "\(SoftBounceStreak.count(sends)) consecutive soft bounces, last: "
                        + Self.reasonText(event, result)
                    let suppress = Self.suppress(recipient, reason: reason, source: "bounce")
                    connection.query(suppress.sql, suppress.params) { inserted in
                        done(inserted.map { rows in
                            recorded.suppressed = rows.count > 0
                            return recorded
                        })
                    }
                }
            }
        default:
            connection.batch(statements) { done($0.map { _ in recorded }) }
        }
    }

    static func reasonText(_ event: String, _ result: RecipientResult) -> String {
        let kind = event == "complained" ? "complaint" : (event == "bounced_hard" ? "hard bounce" : "soft bounce")
        return "\(kind): \(result.reason.rawValue)" + (result.status.map { " (\($0))" } ?? "")
    }

    static func suppress(_ address: String, reason: String, source: String) -> PGStatement {
        PGStatement("""
            INSERT INTO email_suppressions (address, scope, reason, source) VALUES ($1, '', $2, $3)
            ON CONFLICT (address, scope) DO NOTHING RETURNING address
            """, [PGValue(address), PGValue(reason), PGValue(source)])
    }

    /// The address's latest sends that left us, newest first, with what came back about each.
    static func recentSends(_ address: String) -> PGStatement {
        PGStatement("""
            SELECT floor(extract(epoch FROM now() - s.sent_at))::bigint AS age,
                   coalesce(bool_or(e.event = 'bounced_soft'), false) AS soft,
                   coalesce(bool_or(e.event = 'delivered'), false) AS delivered,
                   coalesce(bool_or(e.event IN ('bounced_hard', 'complained')), false) AS hard
            FROM (SELECT id, sent_at FROM email_sends WHERE lower(recipient) = $1 AND sent_at IS NOT NULL
                  ORDER BY sent_at DESC, id DESC LIMIT 50) AS s
            LEFT JOIN email_events e ON e.send_id = s.id
            GROUP BY s.id, s.sent_at ORDER BY s.sent_at DESC, s.id DESC
            """, [PGValue(address)])
    }

    static func sentRecord(_ row: PGRow) -> SentRecord {
        SentRecord(secondsSinceSent: Int64(row.int("age") ?? 0), softBounced: row.bool("soft") ?? false,
                   delivered: row.bool("delivered") ?? false, hardBouncedOrComplained: row.bool("hard") ?? false)
    }
}
