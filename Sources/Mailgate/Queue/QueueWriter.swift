// Commits accepted messages to PostgreSQL with group commit. Each message is
// one email_queue row plus, per recipient, an email_sends row and a 'queued'
// event; all of a batch goes to the server as one pipelined unit (one round
// trip, one implicit transaction, one WAL flush) with synchronous_commit left
// on, and a NOTIFY that wakes the relays once it commits. While `maxInFlight`
// batches are out, newcomers wait and leave together in the next batch, so
// throughput grows with the number of concurrent sessions. Each completion
// runs after the commit succeeded (the client's 250) or failed (its 451); a
// failed batch of several is retried one message at a time, so one bad
// message cannot fail its neighbours.
import Glibc
import Logging
import MailCore
import Postgres
import SMTPProtocol

final class QueueWriter {
    typealias Completion = (Result<Void, PGError>) -> Void

    /// Channel the relays LISTEN on; the payload is empty.
    static let notifyChannel = "mailgate_queue"

    private struct Pending {
        var submission: Submission
        var completion: Completion
    }

    private let pool: PGPool
    private let logger = Logger(label: "queue")
    private let maxInFlight: Int
    private let maxBatchMessages = 64
    private let maxBatchBytes = 32 << 20
    private var waiting: [Pending] = []
    private var inFlight = 0

    init(pool: PGPool, maxInFlight: Int) {
        self.pool = pool
        self.maxInFlight = max(1, maxInFlight)
    }

    /// A fresh queue id: the time now, then random bits (see MailCore's QueueID).
    static func makeQueueID() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1000)
        return QueueID.make(microseconds: microseconds, random: UInt32.random(in: 0...UInt32.max))
    }

    func enqueue(_ submission: Submission, completion: @escaping Completion) {
        waiting.append(Pending(submission: submission, completion: completion))
        flushIfIdle()
    }

    private func flushIfIdle() {
        while inFlight < maxInFlight, !waiting.isEmpty {
            send(takeBatch(), retryAlone: true)
        }
    }

    private func takeBatch() -> [Pending] {
        var count = 0
        var bytes = 0
        for pending in waiting {
            let size = pending.submission.message.bytes.count
            if count > 0 && (count == maxBatchMessages || bytes + size > maxBatchBytes) { break }
            count += 1
            bytes += size
        }
        let batch = Array(waiting.prefix(count))
        waiting.removeFirst(count)
        return batch
    }

    private func send(_ batch: [Pending], retryAlone: Bool) {
        inFlight += 1
        var statements: [PGStatement] = []
        for pending in batch { statements += Self.statements(for: pending.submission) }
        statements.append(PGStatement("SELECT pg_notify($1, '')", [PGValue(Self.notifyChannel)]))
        pool.batch(statements) { [weak self] result in
            guard let self else { return }
            self.inFlight -= 1
            switch result {
            case .success:
                for pending in batch { pending.completion(.success(())) }
            case .failure(let error) where batch.count > 1 && retryAlone && error.kind == .queryFailed:
                self.logger.warning("batch commit failed; retrying its messages one by one",
                                    metadata: ["messages": "\(batch.count)", "error": "\(error)"])
                for pending in batch { self.send([pending], retryAlone: false) }
            case .failure(let error):
                self.logger.error("commit failed", metadata: ["messages": "\(batch.count)", "error": "\(error)"])
                for pending in batch { pending.completion(.failure(error)) }
            }
            self.flushIfIdle()
        }
    }

    static func statements(for submission: Submission) -> [PGStatement] {
        let envelope = submission.envelope
        let rank = PGValue(submission.message.priority.queueColumnValue)
        let notBefore = PGValue(envelope.notBefore ?? 0)
        var statements = [PGStatement(
            """
            INSERT INTO email_queue (id, submitted_by, client_address, mail_from, envid, ret, body_type, smtputf8,
                                     message_id, size, message, priority, not_before)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                    greatest(now(), to_timestamp($13::bigint)))
            """,
            [PGValue(submission.queueID), PGValue(envelope.user.name), PGValue(submission.clientAddress),
             PGValue(envelope.sender.description), envelope.envelopeID.map { PGValue($0) },
             envelope.dsnReturn.map { PGValue($0.rawValue) }, PGValue((envelope.body ?? .sevenBit).rawValue),
             PGValue(envelope.smtpUTF8), PGValue(submission.message.messageID),
             PGValue(submission.message.bytes.count), .bytes(submission.message.bytes), rank, notBefore])]
        for recipient in envelope.recipients {
            statements.append(PGStatement(
                """
                WITH send AS (
                    INSERT INTO email_sends (queue_id, recipient, orcpt, notify, priority, next_attempt_at)
                    SELECT $1, $2, $3, $4, $5, not_before FROM email_queue WHERE id = $1
                    RETURNING id, recipient)
                INSERT INTO email_events (queue_id, send_id, recipient, event)
                SELECT $1, id, recipient, 'queued' FROM send
                """,
                [PGValue(submission.queueID), PGValue(recipient.address.description),
                 Submission.originalRecipientText(recipient).map { PGValue($0) },
                 Submission.notifyText(recipient.notify).map { PGValue($0) }, rank]))
        }
        return statements
    }
}
