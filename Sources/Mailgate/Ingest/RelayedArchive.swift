// Stores every message the relay sent in the threads, as outbound (a delivery
// notice from <> as inbound: it is mail for our sender, in the thread of the
// message it reports on), so a thread shows our side of the conversation before
// any reply arrives (replies that come first still store it, see IngestStore). Every few seconds
// it takes unarchived queue rows in batches: one with a recipient sent is
// stored (through the account of its latest send), one whose recipients all
// ended without a send is only marked. Storing is idempotent (Message-ID and
// body), so two nodes archiving the same row store it once; `archived` is set
// after the commit, so a crash between the two only repeats the work.
import Logging
import Postgres
import Reactor

final class RelayedArchive {
    private static let batchSize = 100
    private static let interval: Duration = .seconds(5)
    /// Between two full batches: archiving is background work, and at full speed it took the
    /// loop thread and the database from the relay while a backlog drained (at most 200/s).
    private static let backlogPause: Duration = .milliseconds(500)

    private let reactor: Reactor
    private let pool: PGPool
    private let store: IngestStore
    private let logger = Logger(label: "archive")
    private lazy var timer = JobTimer(reactor: reactor) { [weak self] in self?.runBatch() }

    init(reactor: Reactor, pool: PGPool, store: IngestStore) {
        self.reactor = reactor
        self.pool = pool
        self.store = store
    }

    func start() { timer.schedule(after: .seconds(1)) }

    func stop() { timer.stop() }

    private static let due = PGStatement(
        """
        SELECT q.id, q.message, q.mail_from = '' AS notice,
               (SELECT s.account FROM email_sends s WHERE s.queue_id = q.id AND s.status = 'sent'
                ORDER BY s.sent_at DESC NULLS LAST LIMIT 1) AS account
        FROM email_queue q
        WHERE NOT q.archived
          AND (EXISTS (SELECT 1 FROM email_sends s WHERE s.queue_id = q.id AND s.status = 'sent')
               OR NOT EXISTS (SELECT 1 FROM email_sends s WHERE s.queue_id = q.id
                              AND s.status IN ('queued', 'deferred', 'sending', 'held')))
        ORDER BY q.created_at LIMIT $1
        """, [PGValue(batchSize)])

    private static func markArchived(_ ids: [String]) -> PGStatement {
        PGStatement("UPDATE email_queue SET archived = true WHERE id = ANY($1::text[])", [PGValue(PGArray.text(ids))])
    }

    private func runBatch() {
        guard !timer.isStopped else { return }
        pool.query(Self.due.sql, Self.due.params) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                self.logger.warning("cannot read relayed messages to archive", metadata: ["error": "\(error)"])
                self.timer.schedule(after: Self.interval)
            case .success(let rows):
                let work = rows.rows.compactMap { row -> Relayed? in
                    guard let id = row.string("id") else { return nil }
                    return Relayed(id: id, raw: row.bytes("message"), account: row.string("account"),
                                   isDeliveryNotice: row.bool("notice") == true)
                }
                self.archive(work[...]) { [weak self] in
                    self?.timer.schedule(after: work.count >= Self.batchSize ? Self.backlogPause : Self.interval)
                }
            }
        }
    }

    /// Stores each row that was sent, one after the other, then marks the whole batch.
    private struct Relayed {
        var id: String
        var raw: [UInt8]?
        var account: String?
        var isDeliveryNotice: Bool
    }

    private func archive(_ work: ArraySlice<Relayed>, then: @escaping () -> Void,
                         done: [String] = []) {
        guard let next = work.first else {
            guard !done.isEmpty else { return then() }
            let mark = Self.markArchived(done)
            return pool.query(mark.sql, mark.params) { [logger] result in
                if case .failure(let error) = result {
                    logger.warning("cannot mark relayed messages archived", metadata: ["error": "\(error)"])
                }
                then()
            }
        }
        let rest = work.dropFirst()
        guard !timer.isStopped else { return then() }
        guard let raw = next.raw, let account = next.account else {
            return archive(rest, then: then, done: done + [next.id])   // ended without a send
        }
        store.archiveRelayed(queueID: next.id, raw: raw, account: account, isDeliveryNotice: next.isDeliveryNotice) { [weak self] result in
            guard let self else { return }
            if case .failure(let error) = result {
                // Left unarchived: the next batch tries it again.
                self.logger.warning("cannot archive a relayed message", metadata: ["queue_id": "\(next.id)",
                                                                                   "error": "\(error)"])
                return self.archive(rest, then: then, done: done)
            }
            self.archive(rest, then: then, done: done + [next.id])
        }
    }
}
