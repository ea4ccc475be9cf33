// The relay's SQL, in one place: claiming ready recipients under a lease,
// the bounded per-class readiness counts the priority scheduler needs, rate
// counters reserved with conditional upserts inside one transaction (so nodes
// sharing the database never overshoot a window), and each recipient's
// outcome with its event. Every value travels as a parameter.
import MailCore
import Postgres
import RelayPolicy

struct ClaimedRecipient {
    var sendID: Int
    var queueID: String
    var recipient: String
    var attempts: Int
    var notify: String?
    var orcpt: String?
    var suppressed: Bool
}

/// The recipients of one message that a claim took, with the message.
struct ClaimedMessage {
    var queueID: String
    var message: RelayMessage?
    var recipients: [ClaimedRecipient]
}

struct RelayMessage {
    var queueID: String
    var user: String
    var sender: String
    var envelopeID: String?
    var dsnReturn: String?
    var smtpUTF8: Bool
    var priority: MessagePriority
    var message: [UInt8]
}

/// How a recipient leaves the relay's hands after an attempt.
enum RecipientUpdate {
    case sent(account: String, reply: String, upstreamQueueID: String?)
    /// Try again at `after` from now; `costsAttempt` is false for the account's own problems and
    /// for waits. A wait for a busy connection is not worth an event row: it lifts in seconds.
    case retry(after: Duration, reason: String, costsAttempt: Bool, account: String?, recordEvent: Bool = true)
    case failed(reason: String, reply: String?, account: String?)
    case suppressed

    /// Whether committing this update may give a pass something to claim: a retry, or a
    /// failure's delivery notice. A pass that ran before the commit could not see it.
    var makesWork: Bool {
        switch self {
        case .retry, .failed: true
        case .sent, .suppressed: false
        }
    }

    /// Whether a server crash may not forget this update. A forgotten retry or suppression
    /// only means the recipient is looked at again once its lease lapses; a forgotten
    /// `sent` would send it twice and a forgotten `failed` would lose its notice.
    var mustBeDurable: Bool {
        switch self {
        case .sent, .failed: true
        case .retry, .suppressed: false
        }
    }
}

enum RelayStore {
    /// What every relay pass reads first, in this order: expired leases reclaimed, per-class
    /// readiness counts (each stopping at `slots`), the open rate counters, the seconds until
    /// the next waiting recipient is due, and the accounts' recorded pauses (set by other nodes
    /// and by admins). `PassResults` reads the answers.
    /// Planned for the queue as it is at each pass (customPlans), which also holds for the claims
    /// when they share the pass's transaction.
    static func passStatements(slots: Int) -> [PGStatement] {
        [.customPlans, reclaimExpiredLeases, readyCounts(limit: max(slots, 1)), openCounters, secondsUntilNextDue,
         AccountStateStore.recordedStates]
    }

    /// The answers to `passStatements`, in the same order.
    struct PassResults {
        var ready: [MessagePriority: Int] = [:]
        var counters: [String: RateCounters] = [:]
        var nextDue: Duration?
        var accountStates: [PGRow] = []

        init?(_ results: [PGResult]) {
            guard results.count == 6 else { return nil }
            for row in results[2].rows {
                if let column = row.int(0), let priority = MessagePriority(queueColumnValue: Int16(column)),
                   let count = row.int(1), count > 0 {
                    ready[priority] = count
                }
            }
            counters = RelayStore.counters(results[3])
            nextDue = results[4].first?.double(0).map { Duration.milliseconds(Int64(max(0, $0) * 1000)) }
            accountStates = results[5].rows
        }
    }

    /// One claim per class that the scheduler gave slots, highest class first. Run them after
    /// customPlans (or in the pass's transaction).
    static func claimStatements(_ allocation: PriorityAllocation, node: String, lease: Duration) -> [PGStatement] {
        allocation.ordered.filter { $0.slots > 0 }.map {
            claim(priority: $0.priority, limit: $0.slots, node: node, lease: lease)
        }
    }

    /// Ready recipients per priority column, each count stopping at `limit`: what the scheduler
    /// needs, at a cost that does not grow with the queue.
    static func readyCounts(limit: Int) -> PGStatement {
        PGStatement(
            """
            SELECT p, (SELECT count(*) FROM (SELECT 1 FROM email_sends s
                        WHERE s.status IN ('queued', 'deferred') AND s.priority = p AND s.next_attempt_at <= now()
                        LIMIT $1) AS ready)
            FROM generate_series(0, 4) AS p
            """, [PGValue(limit)])
    }

    /// Leases of nodes that died (or were killed) go back to the queue.
    static let reclaimExpiredLeases = PGStatement(
        """
        UPDATE email_sends SET status = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END,
               lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
               wait_reason = 'lease of ' || coalesce(lease_owner, '?') || ' expired'
        WHERE status = 'sending' AND lease_expires_at < now()
        """)

    /// A node shutting down gives back what it holds; due at once, no attempt counted.
    static func releaseLeases(node: String) -> PGStatement {
        PGStatement(
            """
            UPDATE email_sends SET status = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END,
                   lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = now(), updated_at = now(),
                   wait_reason = 'released by ' || $1 || ' at shutdown'
            WHERE status = 'sending' AND lease_owner = $1
            """, [PGValue(node)])
    }

    /// Seconds until the earliest waiting recipient is due (nil when none waits). One minimum per
    /// class, each the first entry of email_sends_ready under its priority: a plain min() over
    /// the queue cannot use that index's order and read every waiting row (180 ms with 1M queued).
    static let secondsUntilNextDue = PGStatement(
        """
        SELECT extract(epoch FROM min(due) - now())
        FROM (SELECT (SELECT min(next_attempt_at) FROM email_sends
                      WHERE status IN ('queued', 'deferred') AND priority = p) AS due
              FROM generate_series(0, 4) AS p) AS classes
        """)

    /// How the reason of a bulk park starts (see `parkReady`); an account that resumes releases them.
    static let noAccountMaySendReason = "no account may send now"

    /// Makes mail parked by `parkReady` due now (after a reload changed the accounts).
    static let unparkAll = PGStatement(
        """
        UPDATE email_sends SET next_attempt_at = now(), updated_at = now()
        WHERE status IN ('queued', 'deferred') AND next_attempt_at > now() AND starts_with(wait_reason, $1)
        """, [PGValue(noAccountMaySendReason)])

    /// Moves up to `limit` ready recipients to `after` from now with `reason`, recording a
    /// `deferred` event for each; no attempt is counted. One row: how many were parked.
    static func parkReady(after: Duration, reason: String, limit: Int) -> PGStatement {
        PGStatement(
            """
            WITH parked AS (
                UPDATE email_sends s
                SET next_attempt_at = now() + make_interval(secs => $1), wait_reason = $2, updated_at = now()
                WHERE s.id IN (SELECT id FROM email_sends
                               WHERE status IN ('queued', 'deferred') AND next_attempt_at <= now()
                               LIMIT $3 FOR UPDATE SKIP LOCKED)
                RETURNING s.id, s.queue_id, s.recipient
            ), recorded AS (
                INSERT INTO email_events (queue_id, send_id, recipient, event, reason)
                SELECT queue_id, id, recipient, 'deferred', $2 FROM parked
            )
            SELECT count(*) FROM parked
            """, [PGValue(seconds(after)), PGValue(reason), PGValue(limit)])
    }

    /// Claims every ready recipient of up to `limit` messages of one class, so that a message
    /// leaves in one transaction; the candidates come from a bounded slice of the index. Each
    /// row is one recipient, ordered by message; the first row of a message also carries the
    /// message itself (envelope and bytes), so a claim needs no second round trip to load it.
    static func claim(priority: MessagePriority, limit: Int, node: String, lease: Duration) -> PGStatement {
        PGStatement(
            """
            WITH messages AS (
                SELECT DISTINCT queue_id FROM (
                    SELECT queue_id FROM email_sends
                    WHERE status IN ('queued', 'deferred') AND priority = $1 AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT $2 * 8) AS ready
                LIMIT $2),
            claimed AS (
                SELECT s.id FROM email_sends s JOIN messages m ON m.queue_id = s.queue_id
                WHERE s.status IN ('queued', 'deferred') AND s.next_attempt_at <= now()
                FOR UPDATE OF s SKIP LOCKED),
            updated AS (
                UPDATE email_sends s
                SET status = 'sending', lease_owner = $3, lease_expires_at = now() + make_interval(secs => $4),
                    updated_at = now()
                FROM claimed, email_queue q
                WHERE s.id = claimed.id AND q.id = s.queue_id
                RETURNING s.id, s.queue_id, s.recipient, s.attempts, s.notify, s.orcpt,
                          EXISTS (SELECT 1 FROM email_suppressions x
                                  WHERE x.address = lower(s.recipient) AND x.scope IN ('', lower(q.mail_from)))
                              AS suppressed)
            SELECT u.id, u.queue_id, u.recipient, u.attempts, u.notify, u.orcpt, u.suppressed,
                   q.submitted_by, q.mail_from, q.envid, q.ret, q.smtputf8, q.priority,
                   CASE WHEN u.id = min(u.id) OVER (PARTITION BY u.queue_id) THEN q.message END AS message
            FROM updated u JOIN email_queue q ON q.id = u.queue_id
            ORDER BY u.queue_id, u.id
            """,
            [PGValue(priority.queueColumnValue), PGValue(limit), PGValue(node), PGValue(lease.components.seconds)])
    }

    /// A claim's answer by message, in its order; `message` is nil when its row cannot be read
    /// (then the recipients' leases lapse and another pass takes them again).
    static func claimedMessages(_ result: PGResult) -> [ClaimedMessage] {
        var claimed: [ClaimedMessage] = []
        for row in result.rows {
            guard let id = row.int("id"), let queueID = row.string("queue_id"), let address = row.string("recipient")
            else { continue }
            let recipient = ClaimedRecipient(sendID: id, queueID: queueID, recipient: address,
                                             attempts: row.int("attempts") ?? 0, notify: row.string("notify"),
                                             orcpt: row.string("orcpt"), suppressed: row.bool("suppressed") ?? false)
            if claimed.last?.queueID == queueID {
                claimed[claimed.count - 1].recipients.append(recipient)
            } else {
                claimed.append(ClaimedMessage(queueID: queueID, message: queuedMessage(row), recipients: [recipient]))
            }
        }
        return claimed
    }

    private static func queuedMessage(_ row: PGRow) -> RelayMessage? {
        guard let id = row.string("queue_id"), let user = row.string("submitted_by"),
              let sender = row.string("mail_from"), let column = row.int("priority"),
              let priority = MessagePriority(queueColumnValue: Int16(column)),
              let message = row.bytes("message") else { return nil }
        return RelayMessage(queueID: id, user: user, sender: sender, envelopeID: row.string("envid"),
                             dsnReturn: row.string("ret"), smtpUTF8: row.bool("smtputf8") ?? false,
                             priority: priority, message: message)
    }

    /// Counters of the windows that are still open, for every account.
    static let openCounters = PGStatement(
        """
        SELECT account, window_kind, (extract(epoch FROM window_start) * 1000000)::bigint AS start_us, sent
        FROM email_rate_counters WHERE window_start >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        """)

    static func counters(_ result: PGResult) -> [String: RateCounters] {
        var byAccount: [String: [RateWindowKey: Int]] = [:]
        for row in result.rows {
            guard let account = row.string("account"), let kindText = row.string("window_kind"),
                  let kind = RateWindowKind(rawValue: kindText), let start = row.string("start_us").flatMap({ Int64($0) }),
                  let sent = row.int("sent") else { continue }
            let key = kind.key(containing: UTCInstant(microsecondsSinceEpoch: start))
            byAccount[account, default: [:]][key] = sent
        }
        return byAccount.mapValues { RateCounters($0) }
    }

    /// Adds `count` to one window unless that would pass `ceiling`; returns a row only when it did.
    static func reserve(account: String, window: RateWindowKey, count: Int, ceiling: Int) -> PGStatement {
        PGStatement(
            """
            INSERT INTO email_rate_counters AS c (account, window_kind, window_start, sent)
            SELECT $1, $2, to_timestamp($3::bigint / 1000000.0), $4::int WHERE $4::int <= $5::int
            ON CONFLICT (account, window_kind, window_start) DO UPDATE SET sent = c.sent + excluded.sent
            WHERE c.sent + excluded.sent <= $5::int
            RETURNING c.sent
            """,
            [PGValue(account), PGValue(window.kind.rawValue), PGValue(window.start.microsecondsSinceEpoch),
             PGValue(count), PGValue(ceiling)])
    }

    static func update(_ sendID: Int, queueID: String, recipient: String, _ update: RecipientUpdate) -> [PGStatement] {
        let id = PGValue(sendID)
        switch update {
        case .sent(let account, let reply, let upstreamQueueID):
            return [
                PGStatement(
                    """
                    UPDATE email_sends SET status = 'sent', attempts = attempts + 1, sent_at = now(), account = $2,
                           last_reply = $3, upstream_queue_id = $4, lease_owner = NULL, lease_expires_at = NULL,
                           wait_reason = NULL, updated_at = now()
                    WHERE id = $1
                    """, [id, PGValue(account), PGValue(reply), upstreamQueueID.map { PGValue($0) }]),
                event(queueID, sendID, recipient, "sent", account: account, reason: nil, detail: reply),
            ]
        case .retry(let after, let reason, let costsAttempt, let account, let recordEvent):
            let statements = [
                PGStatement(
                    """
                    UPDATE email_sends SET status = CASE WHEN attempts + $2 > 0 THEN 'deferred' ELSE 'queued' END,
                           attempts = attempts + $2, next_attempt_at = now() + make_interval(secs => $3),
                           account = coalesce($4, account), last_reply = coalesce($5, last_reply),
                           wait_reason = $5, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                    WHERE id = $1
                    """, [id, PGValue(costsAttempt ? 1 : 0), PGValue(seconds(after)), account.map { PGValue($0) },
                          PGValue(reason)]),
                event(queueID, sendID, recipient, "deferred", account: account, reason: reason, detail: nil),
            ]
            return recordEvent ? statements : [statements[0]]
        case .failed(let reason, let reply, let account):
            return [
                PGStatement(
                    """
                    UPDATE email_sends SET status = 'failed', attempts = attempts + 1, account = coalesce($2, account),
                           last_reply = coalesce($3, last_reply), wait_reason = NULL, lease_owner = NULL,
                           lease_expires_at = NULL, updated_at = now()
                    WHERE id = $1
                    """, [id, account.map { PGValue($0) }, reply.map { PGValue($0) }]),
                event(queueID, sendID, recipient, "failed", account: account, reason: reason, detail: reply),
            ]
        case .suppressed:
            return [
                PGStatement(
                    """
                    UPDATE email_sends SET status = 'suppressed', lease_owner = NULL, lease_expires_at = NULL,
                           wait_reason = NULL, updated_at = now()
                    WHERE id = $1
                    """, [id]),
                event(queueID, sendID, recipient, "suppressed", account: nil, reason: "address on the suppression list",
                      detail: nil),
            ]
        }
    }

    private static func event(_ queueID: String, _ sendID: Int, _ recipient: String, _ kind: String,
                              account: String?, reason: String?, detail: String?) -> PGStatement {
        PGStatement(
            """
            INSERT INTO email_events (queue_id, send_id, recipient, event, account, reason, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            [PGValue(queueID), PGValue(sendID), PGValue(recipient), PGValue(kind), account.map { PGValue($0) },
             reason.map { PGValue($0) }, detail.map { PGValue($0) }])
    }

    static func mirrorAccount(_ name: String, address: String, warmupStarted: String?) -> PGStatement {
        PGStatement(
            """
            INSERT INTO email_accounts (name, address, warmup_started) VALUES ($1, $2, $3::date)
            ON CONFLICT (name) DO UPDATE SET address = excluded.address, warmup_started = excluded.warmup_started,
                                             updated_at = now()
            """, [PGValue(name), PGValue(address), warmupStarted.map { PGValue($0) }])
    }

    /// An upsert, so that a pause recorded before the account's first mirror lands is kept.
    /// resume_on says what ends the pause (AccountStateStore reads it back on every node).
    static func recordPause(_ name: String, address: String, pause: AccountPause?) -> PGStatement {
        var until: PGValue?
        var checkAfter: PGValue?
        if let pause {
            switch pause.resume {
            case .at(let instant): until = PGValue(instant.microsecondsSinceEpoch)
            case .healthCheck(let notBefore): checkAfter = PGValue(notBefore.microsecondsSinceEpoch)
            case .operatorAction: break
            }
        }
        return PGStatement(
            """
            INSERT INTO email_accounts AS a (name, address, status, pause_reason, paused_until, resume_on,
                                             health_check_after)
            VALUES ($1, $2, CASE WHEN $3::text IS NULL THEN 'active' ELSE 'paused' END, $3,
                    to_timestamp($4::bigint / 1000000.0), $5, to_timestamp($6::bigint / 1000000.0))
            ON CONFLICT (name) DO UPDATE SET status = excluded.status, pause_reason = excluded.pause_reason,
                   paused_until = excluded.paused_until, resume_on = excluded.resume_on,
                   health_check_after = excluded.health_check_after,
                   health = CASE WHEN $3::text IS NULL THEN 'healthy'
                                 WHEN excluded.resume_on = 'health_check' THEN 'unhealthy' ELSE a.health END,
                   updated_at = now()
            """, [PGValue(name), PGValue(address), pause.map { PGValue($0.description) }, until,
                  AccountStateStore.resumeOn(pause).map { PGValue($0) }, checkAfter])
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
