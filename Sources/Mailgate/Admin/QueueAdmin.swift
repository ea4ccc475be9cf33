// The admin's queue operations on PostgreSQL (`mailgate queue ...`), callback
// style on the caller's reactor. Values always travel as $n parameters. Each
// change is one implicit transaction (a pipelined batch) or an explicit one
// (delete), so a relay claiming with FOR UPDATE SKIP LOCKED either sees the
// whole change or none of it; retry and release NOTIFY "mailgate_queue" in
// the same transaction (delivered at commit) to wake the relays at once.
import MailCore
import Postgres
import RelayPolicy

public struct QueueAdmin {
    /// Channel the relays LISTEN on (the one QueueWriter notifies).
    public static let notifyChannel = QueueWriter.notifyChannel
    static let waitingStatuses = "('queued', 'deferred', 'sending', 'held')"

    let pool: PGPool

    public init(pool: PGPool) { self.pool = pool }

    // MARK: Reading

    public func list(_ filter: QueueListFilter, completion: @escaping (Result<QueueListing, PGError>) -> Void) {
        let sender = filter.sender.map { $0 == "<>" ? "" : $0 }
        let sql = """
            SELECT \(SQLTime.seconds("now()")) AS now, q.id, \(SQLTime.seconds("q.created_at")) AS created,
                   q.size, q.mail_from, q.priority, q.held,
                   count(s.id) FILTER (WHERE s.status IN \(Self.waitingStatuses)) AS waiting,
                   count(s.id) AS total,
                   \(SQLTime.seconds("min(s.next_attempt_at) FILTER (WHERE s.status IN ('queued', 'deferred'))")) AS next
            FROM email_queue q LEFT JOIN email_sends s ON s.queue_id = q.id
            WHERE (NOT $1::boolean OR q.held)
              AND ($2::text IS NULL OR lower(q.mail_from) = lower($2::text))
              AND ($3::smallint IS NULL OR q.priority = $3::smallint)
            GROUP BY q.id
            HAVING $4::boolean OR q.held OR count(s.id) FILTER (WHERE s.status IN \(Self.waitingStatuses)) > 0
            ORDER BY q.created_at, q.id
            """
        let params: [PGValue?] = [PGValue(filter.heldOnly), sender.map { PGValue($0) },
                                  filter.priority.map { PGValue($0.queueColumnValue) }, PGValue(filter.includeFinished)]
        pool.query(sql, params) { result in
            completion(result.flatMap { rows in
                // A list with no rows still needs the clock; the age column is then unused.
                let now = rows.first.flatMap { SQLTime.instant($0["now"]) } ?? UTCInstant(secondsSinceEpoch: 0)
                var entries: [QueueListEntry] = []
                for row in rows.rows {
                    guard let entry = Self.listEntry(row) else { return .failure(Self.corrupt(row["id"])) }
                    entries.append(entry)
                }
                return .success(QueueListing(now: now, entries: entries))
            })
        }
    }

    /// The message, its recipients and its events, read in one round trip; nil when no such message.
    public func show(id: String, completion: @escaping (Result<QueuedMessage?, PGError>) -> Void) {
        let message = PGStatement("""
            SELECT \(SQLTime.seconds("now()")) AS now, id, submitted_by, client_address, mail_from, envid, ret,
                   body_type, smtputf8, message_id, size, priority, \(SQLTime.seconds("not_before")) AS not_before,
                   held, \(SQLTime.seconds("created_at")) AS created
            FROM email_queue WHERE id = $1
            """, [PGValue(id)])
        let recipients = PGStatement("""
            SELECT recipient, status, attempts, \(SQLTime.seconds("next_attempt_at")) AS next, account, last_reply,
                   wait_reason, lease_owner, \(SQLTime.seconds("lease_expires_at")) AS lease_expires, notify, orcpt,
                   \(SQLTime.seconds("sent_at")) AS sent_at
            FROM email_sends WHERE queue_id = $1 ORDER BY id
            """, [PGValue(id)])
        let events = PGStatement("""
            SELECT \(SQLTime.seconds("created_at")) AS at, event, recipient, account, reason, detail
            FROM email_events WHERE queue_id = $1 ORDER BY created_at, id
            """, [PGValue(id)])
        pool.batch([message, recipients, events]) { result in
            completion(result.flatMap { results in
                guard results.count == 3 else { return .failure(PGError(.unsupported, "expected three results")) }
                guard let row = results[0].first else { return .success(nil) }
                return Self.message(row, recipients: results[1], events: results[2]).map { .success($0) }
                    ?? .failure(Self.corrupt(id))
            })
        }
    }

    // MARK: Changing

    /// Queued and deferred recipients become due now (their wait reason cleared), a future
    /// release is brought forward to now, and the relays are woken. Held recipients stay held.
    public func retry(id: String, completion: @escaping (Result<QueueChange, PGError>) -> Void) {
        change(id: id, notify: true, [
            PGStatement("UPDATE email_queue SET not_before = least(not_before, now()) WHERE id = $1 RETURNING held",
                        [PGValue(id)]),
            PGStatement("""
                UPDATE email_sends SET next_attempt_at = now(), wait_reason = NULL, updated_at = now()
                WHERE queue_id = $1 AND status IN ('queued', 'deferred') RETURNING id
                """, [PGValue(id)]),
        ], completion: completion)
    }

    /// Marks the message held and its queued/deferred recipients 'held' (relays skip them).
    /// Recipients being relayed right now are left to finish and counted as in flight.
    public func hold(id: String, completion: @escaping (Result<QueueChange, PGError>) -> Void) {
        change(id: id, notify: false, [
            PGStatement("UPDATE email_queue SET held = true WHERE id = $1 RETURNING held", [PGValue(id)]),
            PGStatement("""
                UPDATE email_sends SET status = 'held', wait_reason = 'held by the admin', updated_at = now()
                WHERE queue_id = $1 AND status IN ('queued', 'deferred') RETURNING id
                """, [PGValue(id)]),
        ], completion: completion)
    }

    /// Clears the hold: held recipients go back to 'deferred' when they were tried before
    /// (attempts > 0), else 'queued', keeping their next attempt time; relays are woken.
    public func release(id: String, completion: @escaping (Result<QueueChange, PGError>) -> Void) {
        change(id: id, notify: true, [
            PGStatement("UPDATE email_queue SET held = false WHERE id = $1 RETURNING held", [PGValue(id)]),
            PGStatement("""
                UPDATE email_sends
                SET status = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END,
                    wait_reason = NULL, updated_at = now()
                WHERE queue_id = $1 AND status = 'held' RETURNING id
                """, [PGValue(id)]),
        ], completion: completion)
    }

    /// One batch: the email_queue update (RETURNING held), the email_sends update (RETURNING id),
    /// a count of recipients in flight, and the NOTIFY when asked.
    private func change(id: String, notify: Bool, _ statements: [PGStatement],
                        completion: @escaping (Result<QueueChange, PGError>) -> Void) {
        var batch = statements
        batch.append(PGStatement("SELECT count(*) AS n FROM email_sends WHERE queue_id = $1 AND status = 'sending'",
                                 [PGValue(id)]))
        if notify { batch.append(PGStatement("SELECT pg_notify($1, '')", [PGValue(Self.notifyChannel)])) }
        pool.batch(batch) { result in
            completion(result.map { results in
                guard results.count >= 3, let message = results[0].first else { return .notFound }
                return .changed(recipients: results[1].count, inFlight: results[2].first?.int("n") ?? 0,
                                messageHeld: message.bool("held") ?? false)
            })
        }
    }

    /// Deletes the message and (by cascade) its recipients. Recipient rows are locked first, so a
    /// relay cannot claim one meanwhile; any being relayed under a live lease refuses the delete
    /// unless `force`. Events stay, detached from the message (their queue_id becomes NULL).
    public func delete(id: String, force: Bool, completion: @escaping (Result<QueueChange, PGError>) -> Void) {
        pool.withTransaction({ connection, done in
            connection.batch([
                PGStatement("SELECT id FROM email_queue WHERE id = $1 FOR UPDATE", [PGValue(id)]),
                PGStatement("""
                    SELECT status, lease_owner, lease_expires_at > now() AS live
                    FROM email_sends WHERE queue_id = $1 FOR UPDATE
                    """, [PGValue(id)]),
            ]) { result in
                switch result {
                case .failure(let error):
                    done(.failure(error))
                case .success(let results):
                    guard results.count == 2, !results[0].isEmpty else { return done(.success(.notFound)) }
                    let busy = results[1].rows.filter { $0.string("status") == "sending" && $0.bool("live") == true }
                    if !busy.isEmpty && !force {
                        let owners = Set(busy.compactMap { $0.string("lease_owner") }).sorted()
                        return done(.success(.busy(recipients: busy.count, owners: owners)))
                    }
                    connection.query("DELETE FROM email_queue WHERE id = $1", [PGValue(id)]) { deleted in
                        done(deleted.map { _ in .deleted(recipients: results[1].count) })
                    }
                }
            }
        }, completion: completion)
    }

    // MARK: Rows

    static func corrupt(_ id: String?) -> PGError {
        PGError(.unsupported, "unexpected values in the queue row of \(id ?? "?")")
    }

    static func priority(_ text: String?) -> MessagePriority? {
        text.flatMap { Int16($0) }.flatMap { MessagePriority(queueColumnValue: $0) }
    }

    static func listEntry(_ row: PGRow) -> QueueListEntry? {
        guard let id = row.string("id"), let created = SQLTime.instant(row["created"]), let size = row.int("size"),
              let priority = priority(row["priority"]) else { return nil }
        return QueueListEntry(id: id, createdAt: created, size: size, sender: row.string("mail_from") ?? "",
                              priority: priority, waiting: row.int("waiting") ?? 0, recipients: row.int("total") ?? 0,
                              nextAttempt: SQLTime.instant(row["next"]), held: row.bool("held") ?? false)
    }

    static func message(_ row: PGRow, recipients: PGResult, events: PGResult) -> QueuedMessage? {
        guard let id = row.string("id"), let now = SQLTime.instant(row["now"]),
              let created = SQLTime.instant(row["created"]), let size = row.int("size"),
              let priority = priority(row["priority"]) else { return nil }
        return QueuedMessage(
            now: now, id: id, submittedBy: row.string("submitted_by") ?? "", clientAddress: row.string("client_address") ?? "",
            sender: row.string("mail_from") ?? "", envelopeID: row.string("envid"), dsnReturn: row.string("ret"),
            bodyType: row.string("body_type") ?? "7BIT", smtpUTF8: row.bool("smtputf8") ?? false,
            messageID: row.string("message_id"), size: size, priority: priority,
            notBefore: SQLTime.instant(row["not_before"]), held: row.bool("held") ?? false, createdAt: created,
            recipients: recipients.rows.map { send in
                QueuedRecipient(
                    recipient: send.string("recipient") ?? "", statusText: send.string("status") ?? "",
                    attempts: send.int("attempts") ?? 0, nextAttempt: SQLTime.instant(send["next"]),
                    account: send.string("account"), lastReply: send.string("last_reply"),
                    waitReason: send.string("wait_reason"), leaseOwner: send.string("lease_owner"),
                    leaseExpires: SQLTime.instant(send["lease_expires"]), notify: send.string("notify"),
                    orcpt: send.string("orcpt"), sentAt: SQLTime.instant(send["sent_at"]))
            },
            events: events.rows.map { event in
                QueueEventRecord(at: SQLTime.instant(event["at"]) ?? created, event: event.string("event") ?? "",
                                 recipient: event.string("recipient"), account: event.string("account"),
                                 reason: event.string("reason"), detail: event.string("detail"))
            })
    }
}
