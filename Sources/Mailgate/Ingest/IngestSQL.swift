// The SQL of ingestion, every value a parameter: advisory locks on a
// message's thread keys (so two nodes threading a message and its reply at
// once agree), the duplicate check, thread lookup by ids and by subject,
// thread creation, merging and totals, and the message rows themselves.
import Postgres
import Threading

enum IngestSQL {
    /// Transaction-scoped locks on each key's hash, taken in hash order so concurrent ingests never
    /// wait on each other in a cycle.
    static func lock(keys: [String]) -> PGStatement {
        PGStatement("""
            SELECT pg_advisory_xact_lock(k) FROM (
                SELECT DISTINCT hashtextextended(x, 4242) AS k FROM unnest($1::text[]) AS x ORDER BY 1) AS keys
            """, [PGValue(PGArray.text(keys))])
    }

    /// Same folder and UID, or same Message-ID and body; a message without Message-ID is the same when
    /// the account already holds one with the same body and the same header fields.
    static func duplicate(_ message: PendingMessage) -> PGStatement {
        let facts = message.facts
        return PGStatement("""
            SELECT id, thread_id, queue_id FROM email_messages
            WHERE (account = $1 AND folder = $2 AND uid = $3) OR (message_id = $4 AND body_sha256 = $5)
               OR ($4::text IS NULL AND message_id IS NULL AND body_sha256 = $5 AND account = $1 AND headers = $6::jsonb)
            ORDER BY id LIMIT 1
            """, [PGValue(message.account), message.folder.map { PGValue($0) }, message.uid.map { PGValue($0) },
                  facts.messageID.map { PGValue($0) }, PGValue(facts.bodySHA256), PGValue(facts.headersJSON)])
    }

    /// Threads holding a message named by `keys`, or a message that names `ownID` (its parent arriving late).
    static func threads(keys: [String], ownID: String?) -> PGStatement {
        PGStatement("""
            SELECT DISTINCT thread_id FROM email_messages
            WHERE message_id = ANY($1::text[])
               OR ($2::text IS NOT NULL AND ("references" @> ARRAY[$2::text] OR in_reply_to = $2::text))
            ORDER BY thread_id
            """, [PGValue(PGArray.text(keys)), ownID.map { PGValue($0) }])
    }

    static func storedAttachments(_ digests: [String]) -> PGStatement {
        PGStatement("SELECT sha256 FROM email_attachments WHERE sha256 = ANY($1::text[])", [PGValue(PGArray.text(digests))])
    }

    /// Queue rows whose Message-ID is one of `keys` (the queue keeps the header's form, usually bracketed);
    /// the raw message only for those not stored as messages yet.
    static func relayed(keys: [String]) -> PGStatement {
        let forms = keys.flatMap { ["<\($0)>", $0] }
        return PGStatement("""
            SELECT q.id, q.message_id, NOT EXISTS (SELECT 1 FROM email_messages m WHERE m.queue_id = q.id) AS unstored,
                   CASE WHEN NOT EXISTS (SELECT 1 FROM email_messages m WHERE m.queue_id = q.id) THEN q.message END AS message,
                   (SELECT s.account FROM email_sends s WHERE s.queue_id = q.id AND s.account IS NOT NULL
                    ORDER BY s.sent_at DESC NULLS LAST LIMIT 1) AS account
            FROM email_queue q WHERE q.message_id = ANY($1::text[]) ORDER BY q.created_at
            """, [PGValue(PGArray.text(forms))])
    }

    /// The most recent thread with this subject, active within 30 days of `time`, sharing a participant
    /// other than the account's own address.
    static func threadBySubject(_ subject: String, time: Int64?, addresses: [String], account: String) -> PGStatement {
        PGStatement("""
            SELECT t.id FROM email_threads t
            WHERE t.subject_normalised = $1
              AND t.last_message_at >= coalesce(to_timestamp($2::double precision), now()) - interval '30 days'
              AND t.first_message_at <= coalesce(to_timestamp($2::double precision), now()) + interval '30 days'
              AND EXISTS (
                  SELECT 1 FROM email_messages m JOIN email_message_participants p ON p.message_id = m.id
                  WHERE m.thread_id = t.id AND p.address = ANY($3::text[])
                    AND p.address <> ALL (SELECT lower(a.address) FROM email_accounts a WHERE a.name = $4))
            ORDER BY t.last_message_at DESC LIMIT 1
            """, [PGValue(subject), time.map { PGValue($0) }, PGValue(PGArray.text(addresses)), PGValue(account)])
    }

    static func createThread(subject: String, time: Int64?) -> PGStatement {
        PGStatement("""
            INSERT INTO email_threads (subject_normalised, first_message_at, last_message_at)
            VALUES ($1, coalesce(to_timestamp($2::double precision), now()), coalesce(to_timestamp($2::double precision), now()))
            RETURNING id
            """, [PGValue(subject), time.map { PGValue($0) }])
    }

    /// Moves the messages of `others` into `keep` and drops the emptied threads.
    static func merge(into keep: Int, _ others: [Int]) -> [PGStatement] {
        [PGStatement("UPDATE email_messages SET thread_id = $1 WHERE thread_id = ANY($2::bigint[])",
                     [PGValue(keep), PGValue(PGArray.integers(others))]),
         PGStatement("DELETE FROM email_threads WHERE id = ANY($1::bigint[])", [PGValue(PGArray.integers(others))])]
    }

    static func refreshThread(_ id: Int) -> PGStatement {
        PGStatement("""
            UPDATE email_threads t SET message_count = s.n, first_message_at = s.first, last_message_at = s.last
            FROM (SELECT count(*) AS n, min(coalesce(sent_at, received_at)) AS first,
                         max(coalesce(sent_at, received_at)) AS last
                  FROM email_messages WHERE thread_id = $1) AS s
            WHERE t.id = $1 AND s.n > 0
            """, [PGValue(id)])
    }

    static func insertMessage(_ message: PendingMessage, thread: Int) -> PGStatement {
        let facts = message.facts
        return PGStatement("""
            INSERT INTO email_messages (thread_id, account, folder, uid, direction, message_id, in_reply_to, "references",
                                        subject, subject_normalised, sent_at, raw, headers, snippet, body_sha256, size,
                                        report_type, queue_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9, $10, to_timestamp($11::double precision), $12, $13::jsonb,
                    $14, $15, $16, $17, $18)
            ON CONFLICT DO NOTHING RETURNING id
            """,
            [PGValue(thread), PGValue(message.account), message.folder.map { PGValue($0) }, message.uid.map { PGValue($0) },
             PGValue(message.direction.rawValue), facts.messageID.map { PGValue($0) }, facts.inReplyTo.map { PGValue($0) },
             PGValue(PGArray.text(facts.references)), PGValue(facts.subject), PGValue(facts.normalisedSubject.text),
             facts.date.map { PGValue($0) }, .bytes(message.raw), PGValue(facts.headersJSON), PGValue(facts.snippet),
             PGValue(facts.bodySHA256), PGValue(message.raw.count), message.reportType.map { PGValue($0) },
             message.queueID.map { PGValue($0) }])
    }

    static func participants(_ list: [Participant], message: Int) -> PGStatement {
        PGStatement("""
            INSERT INTO email_message_participants (message_id, role, address, display_name, position)
            SELECT $1, r, a, d, p FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS x(r, a, d, p)
            ON CONFLICT DO NOTHING
            """,
            [PGValue(message), PGValue(PGArray.text(list.map(\.role.rawValue))), PGValue(PGArray.text(list.map(\.address))),
             PGValue(PGArray.text(list.map(\.displayName))), PGValue(PGArray.integers(Array(list.indices)))])
    }

    /// The content goes only when PostgreSQL does not hold it yet (`known` digests were looked up first).
    static func attachments(_ list: [Attachment], message: Int, known: Set<String>) -> [PGStatement] {
        var statements: [PGStatement] = []
        var sent = known
        for (position, attachment) in list.enumerated() {
            if sent.insert(attachment.sha256).inserted {
                statements.append(PGStatement("""
                    INSERT INTO email_attachments (sha256, content, size, content_type) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (sha256) DO NOTHING
                    """, [PGValue(attachment.sha256), .bytes(attachment.content), PGValue(attachment.content.count),
                          PGValue(attachment.contentType)]))
            }
            statements.append(PGStatement("""
                INSERT INTO email_message_attachments (message_id, position, sha256, filename, content_type)
                VALUES ($1, $2, $3, $4, $5)
                """, [PGValue(message), PGValue(position), PGValue(attachment.sha256),
                      attachment.filename.map { PGValue($0) }, PGValue(attachment.contentType)]))
        }
        return statements
    }
}
