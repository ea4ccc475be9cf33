// What the purge deletes, one step per kind of history, each a statement that
// touches at most `batch` rows picked with FOR UPDATE SKIP LOCKED: rows another
// transaction holds (a claimed recipient, a message being ingested) are passed
// over, and no statement holds many locks for long. Queue rows go only when
// every recipient is finished. Each step also has a count, for `purge --dry-run`.
// Limit: an attachment linked by a message ingested during its purge may fail that ingestion once.
import Config
import Postgres

struct RetentionStep: Sendable {
    /// As logged and printed: "events", "raw_messages", ...
    let name: String
    /// Deletes (or empties) at most `batch` rows; the affected count says whether more remain.
    let purge: PGStatement
    /// How many rows are due now.
    let count: PGStatement
}

enum RetentionSQL {
    static func steps(_ retention: RetentionConfig) -> [RetentionStep] {
        let batch = PGValue(retention.batchSize)
        func age(_ horizon: Duration) -> PGValue { PGValue(RelayStore.seconds(horizon)) }
        let old = "< now() - make_interval(secs => $1)"
        func step(_ name: String, horizon: Duration, purge: String, due: String) -> RetentionStep {
            // `due` selects the rows the step would touch now, with the horizon as $1.
            RetentionStep(name: name, purge: PGStatement(purge, [age(horizon), batch]),
                          count: PGStatement("SELECT count(*) AS n FROM (\(due)) AS due", [age(horizon)]))
        }
        let finishedQueue = """
            SELECT q.id FROM email_queue q WHERE q.created_at \(old)
              AND NOT EXISTS (SELECT 1 FROM email_sends s WHERE s.queue_id = q.id
                              AND s.status NOT IN ('sent', 'failed', 'suppressed'))
            """
        let oldThreadMessages = """
            SELECT m.id FROM email_threads t JOIN email_messages m ON m.thread_id = t.id
            WHERE t.last_message_at \(old)
            """
        let emptyOldThreads = """
            SELECT t.id FROM email_threads t WHERE t.last_message_at \(old)
              AND NOT EXISTS (SELECT 1 FROM email_messages m WHERE m.thread_id = t.id)
            """
        let unlinkedAttachments = """
            SELECT a.sha256 FROM email_attachments a WHERE a.created_at \(old)
              AND NOT EXISTS (SELECT 1 FROM email_message_attachments x WHERE x.sha256 = a.sha256)
            """
        let keptRaw = "SELECT id FROM email_messages WHERE octet_length(raw) > 0 AND received_at \(old)"
        let oldEvents = "SELECT id FROM email_events WHERE created_at \(old)"
        // A webhook event goes with its deliveries (ON DELETE CASCADE), unless one is being posted now.
        let oldWebhookEvents = """
            SELECT w.id FROM webhook_events w WHERE w.created_at \(old)
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = w.id AND d.status = 'sending')
            """
        return [
            step("events", horizon: retention.events,
                 purge: "DELETE FROM email_events WHERE id IN (\(oldEvents) ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                 due: oldEvents),
            step("webhook_events", horizon: retention.events,
                 purge: "DELETE FROM webhook_events WHERE id IN (\(oldWebhookEvents) ORDER BY w.id LIMIT $2 FOR UPDATE OF w SKIP LOCKED)",
                 due: oldWebhookEvents),
            step("sent_queue", horizon: retention.sentQueue,
                 purge: "DELETE FROM email_queue WHERE id IN (\(finishedQueue) ORDER BY q.created_at LIMIT $2 FOR UPDATE OF q SKIP LOCKED)",
                 due: finishedQueue),
            step("raw_messages", horizon: retention.rawMessages,
                 purge: """
                     UPDATE email_messages SET raw = ''::bytea
                     WHERE id IN (\(keptRaw) ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                     """,
                 due: keptRaw),
            step("thread_messages", horizon: retention.threads,
                 purge: "DELETE FROM email_messages WHERE id IN (\(oldThreadMessages) LIMIT $2 FOR UPDATE OF m SKIP LOCKED)",
                 due: oldThreadMessages),
            step("threads", horizon: retention.threads,
                 purge: "DELETE FROM email_threads WHERE id IN (\(emptyOldThreads) LIMIT $2 FOR UPDATE OF t SKIP LOCKED)",
                 due: "SELECT id FROM email_threads WHERE last_message_at \(old)"),
            step("attachments", horizon: retention.threads,
                 purge: "DELETE FROM email_attachments WHERE sha256 IN (\(unlinkedAttachments) LIMIT $2 FOR UPDATE OF a SKIP LOCKED)",
                 due: unlinkedAttachments),
        ]
    }
}
