// The webhook dispatcher's SQL (tables from migrations/0006_webhooks.sql):
// fan new outbox events out to the configured webhooks, claim due deliveries
// with FOR UPDATE SKIP LOCKED under a lease, and record each attempt's
// outcome. Only the lease holder may record an outcome; a delivery whose lease
// expired goes back to pending (and may then be delivered twice: at least once).
import Postgres

/// A delivery claimed for one POST.
struct ClaimedDelivery {
    var id: Int
    var webhook: String
    var attempt: Int
    var eventID: String
    var type: String
    /// The JSON body, exactly as it is signed and sent (the same on every attempt).
    var body: String
}

enum WebhookStore {
    static let notifyChannel = "mailgate_webhooks"

    /// Records the event types `events` so the triggers put them in the outbox (0012). Writes
    /// nothing when they are recorded already, so every pass can carry it: a node that could not
    /// record them at start (database down) catches up at its next pass.
    static func subscribe(_ events: [String]) -> PGStatement {
        PGStatement("INSERT INTO webhook_subscriptions (event) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
                    [PGValue(PGArray.text(events))])
    }

    /// Marks up to `limit` new events fanned out and creates a delivery per subscribed webhook.
    /// One row: events taken, deliveries created.
    static func fanOut(_ webhooks: [(name: String, events: [String])], limit: Int) -> PGStatement {
        PGStatement(
            """
            WITH taken AS (
                SELECT id FROM webhook_events WHERE NOT fanned_out ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
            ), marked AS (
                UPDATE webhook_events e SET fanned_out = true FROM taken WHERE e.id = taken.id RETURNING e.id, e.type
            ), inserted AS (
                INSERT INTO webhook_deliveries (event_id, webhook)
                SELECT m.id, h.name FROM marked m
                JOIN unnest($1::text[], $2::text[]) AS h(name, events) ON m.type = ANY (string_to_array(h.events, ','))
                ON CONFLICT DO NOTHING RETURNING 1
            )
            SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM inserted)
            """,
            [PGValue(PGArray.text(webhooks.map(\.name))),
             PGValue(PGArray.text(webhooks.map { $0.events.joined(separator: ",") })), PGValue(limit)])
    }

    /// Leases of nodes that died go back to pending.
    static let reclaimExpiredLeases = PGStatement(
        """
        UPDATE webhook_deliveries SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
               last_error = 'lease of ' || coalesce(lease_owner, '?') || ' expired', updated_at = now()
        WHERE status = 'sending' AND lease_expires_at < now()
        """)

    /// Claims up to `limit` due deliveries of the named webhooks, with their bodies.
    static func claim(webhooks: [String], limit: Int, node: String, lease: Duration) -> PGStatement {
        PGStatement(
            """
            WITH c AS (
                SELECT id FROM webhook_deliveries
                WHERE status = 'pending' AND next_attempt_at <= now() AND webhook = ANY($1::text[])
                ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            UPDATE webhook_deliveries d SET status = 'sending', attempts = d.attempts + 1, lease_owner = $3,
                   lease_expires_at = now() + make_interval(secs => $4), updated_at = now()
            FROM c, webhook_events e WHERE d.id = c.id AND e.id = d.event_id
            RETURNING d.id, d.webhook, d.attempts, e.id, e.type,
                      (jsonb_build_object('id', e.id::text, 'type', e.type, 'created_at',
                                          to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                       || e.data)::text
            """,
            [PGValue(PGArray.text(webhooks)), PGValue(limit), PGValue(node), PGValue(seconds(lease))])
    }

    static func claimed(_ result: PGResult) -> [ClaimedDelivery] {
        result.rows.compactMap { row in
            guard let id = row.int(0), let webhook = row.string(1), let attempt = row.int(2),
                  let eventID = row.string(3), let type = row.string(4), let body = row.string(5) else { return nil }
            return ClaimedDelivery(id: id, webhook: webhook, attempt: attempt, eventID: eventID, type: type, body: body)
        }
    }

    /// Seconds until the next pending delivery of these webhooks is due or a lease expires (nil: none).
    static func secondsUntilNextDue(webhooks: [String]) -> PGStatement {
        PGStatement(
            """
            SELECT extract(epoch FROM least(
                (SELECT min(next_attempt_at) FROM webhook_deliveries
                 WHERE status = 'pending' AND webhook = ANY($1::text[])),
                (SELECT min(lease_expires_at) FROM webhook_deliveries WHERE status = 'sending')) - now())
            """, [PGValue(PGArray.text(webhooks))])
    }

    static func delivered(_ id: Int, status: Int, node: String) -> PGStatement {
        PGStatement(
            """
            UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = $2,
                   last_error = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE id = $1 AND (lease_owner = $3 OR status = 'pending')
            RETURNING status
            """, [PGValue(id), PGValue(status), PGValue(node)])
    }

    /// Back to pending, due after `delay`; failed instead when that is past `retryFor` after the event.
    /// Returns the new status (none when the lease was lost meanwhile).
    static func retry(_ id: Int, node: String, delay: Duration, retryFor: Duration, status: Int?,
                      error: String) -> PGStatement {
        PGStatement(
            """
            UPDATE webhook_deliveries d SET
                   status = CASE WHEN e.created_at + make_interval(secs => $4) < now() + make_interval(secs => $3)
                                 THEN 'failed' ELSE 'pending' END,
                   next_attempt_at = now() + make_interval(secs => $3), last_status = $5, last_error = $6,
                   lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            FROM webhook_events e WHERE d.id = $1 AND e.id = d.event_id AND d.status = 'sending' AND d.lease_owner = $2
            RETURNING d.status
            """,
            [PGValue(id), PGValue(node), PGValue(seconds(delay)), PGValue(seconds(retryFor)), status.map { PGValue($0) },
             PGValue(String(error.unicodeScalars.filter { $0.value != 0 }.prefix(500)))])
    }

    /// Gives claimed deliveries back untried (draining, or their webhook went away meanwhile).
    static func release(_ ids: [Int], node: String) -> PGStatement {
        PGStatement(
            """
            UPDATE webhook_deliveries SET status = 'pending', attempts = greatest(attempts - 1, 0),
                   lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE id = ANY($1::bigint[]) AND status = 'sending' AND lease_owner = $2
            """, [PGValue(PGArray.integers(ids)), PGValue(node)])
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
