// Ingestion into threads: `ingest` parses a message, stores it once (same
// account/folder/UID or same Message-ID and body = duplicate), finds its thread
// (a stored message it references or that references it, else the same
// normalised subject with a shared participant within 30 days when it reads as
// a reply) or creates one, and records what a bounce, complaint or receipt says
// (BounceRecorder) — all in one transaction. Messages we relayed that it refers
// to are stored first from email_queue, so replies join the thread of our mail.
// A mail to an unsubscribe address whose subject holds a valid token (RFC 2369
// mailto) suppresses that recipient for that sender, in the same transaction.
// Parsing and classifying run on a worker thread: on the loop, a 34 MB message
// (MIME, base64, SHA-256 of its attachments) held every session for most of a second.
import Bounce
import MIME
import Postgres
import Reactor
import Threading

struct PendingMessage: Sendable {
    var raw: [UInt8]
    var facts: MessageFacts
    var report: BounceReport
    var account: String
    var folder: String?
    var uid: Int64?
    var direction: IngestDirection
    var queueID: String?
    /// Set when this is a mailto unsubscribe with a token that verified.
    var unsubscribe: UnsubscribeRequest? = nil

    var reportType: String? { report.type.column }

    /// Ids that may name a stored message of the same conversation; for a report about one of our
    /// messages, that message's id too, so the bounce lands in the sender's thread.
    var threadKeys: [String] {
        var keys = facts.threadKeys
        if report.type != .notABounce, report.type != .autoReply,
           let original = report.originalMessageID.flatMap(MessageIDs.first), !keys.contains(original) {
            keys.insert(original, at: 0)
        }
        return keys
    }

    /// A subject match is tried only for mail that says it continues a conversation and is not a report.
    var mayThreadBySubject: Bool {
        !facts.normalisedSubject.text.isEmpty && report.type == .notABounce
            && (facts.normalisedSubject.hadReplyPrefix || facts.inReplyTo != nil || !facts.references.isEmpty)
    }
}

struct StoredMessage {
    var rowID: Int
    var threadID: Int
    var duplicate: Bool
    var newThread: Bool
}

public final class IngestStore {
    let pool: PGPool
    /// Verifies tokens of mailto unsubscribes; nil: such mail is stored like any other.
    let unsubscribeKey: () -> [UInt8]?

    public convenience init(pool: PGPool) { self.init(pool: pool, unsubscribeKey: { nil }) }

    init(pool: PGPool, unsubscribeKey: @escaping () -> [UInt8]?) {
        self.pool = pool
        self.unsubscribeKey = unsubscribeKey
    }

    /// Stores `raw` as read from `account` (and `folder`/`uid` when it came from IMAP). Fails only when
    /// PostgreSQL does; a concurrent ingest of the same message is retried once and then reads as a duplicate.
    /// `envelopeRecipients` (inbound SMTP) count as recipients when looking for an unsubscribe address.
    public func ingest(raw: [UInt8], account: String, folder: String?, uid: Int64?, direction: IngestDirection,
                       envelopeRecipients: [String] = [],
                       completion: @escaping (Result<IngestOutcome, PGError>) -> Void) {
        let key = direction == .inbound ? unsubscribeKey() : nil
        pool.reactor.offload({
            var message = PendingMessage(raw: raw, facts: MessageAnalysis.facts(MIMEParser.parse(raw)),
                                         report: BounceClassifier.classify(raw), account: account, folder: folder,
                                         uid: uid, direction: direction, queueID: nil)
            if let key {
                let addressed = message.facts.participants.filter { $0.role == .to || $0.role == .cc }.map(\.address)
                message.unsubscribe = UnsubscribeToken.request(inMailTo: addressed + envelopeRecipients,
                                                               subject: message.facts.subject, key: key)
            }
            return message
        }, then: { message in self.attempt(message, retries: 1, completion: completion) })
    }

    /// Stores a message the relay sent (queue row `queueID`, left through `account`) in its thread:
    /// outbound, or inbound for a delivery notice, which is mail for our sender. Never read as a
    /// report: our own notices must not count as bounces.
    func archiveRelayed(queueID: String, raw: [UInt8], account: String, isDeliveryNotice: Bool,
                        completion: @escaping (Result<IngestOutcome, PGError>) -> Void) {
        pool.reactor.offload({
            PendingMessage(raw: raw, facts: MessageAnalysis.facts(MIMEParser.parse(raw)), report: .none,
                           account: account, folder: nil, uid: nil,
                           direction: isDeliveryNotice ? .inbound : .outbound, queueID: queueID)
        }, then: { message in self.attempt(message, retries: 1, completion: completion) })
    }

    private func attempt(_ message: PendingMessage, retries: Int, completion: @escaping (Result<IngestOutcome, PGError>) -> Void) {
        pool.withTransaction({ connection, done in
            IngestTransaction(connection: connection, reactor: self.pool.reactor).run(message, done: done)
        }, completion: { [weak self] result in
            if case .failure(let error) = result, retries > 0, error == IngestTransaction.raced || error.isUniqueViolation
                || error.isSerializationFailure, let self {
                return self.attempt(message, retries: retries - 1, completion: completion)
            }
            completion(result)
        })
    }
}

/// One ingest on one connection inside a transaction; each step is one round trip.
final class IngestTransaction {
    static let raced = PGError.aborted("the message was stored concurrently")
    let connection: PGConnection
    /// Where the messages it finds in the queue are parsed off the loop.
    private let reactor: Reactor

    init(connection: PGConnection, reactor: Reactor) {
        self.connection = connection
        self.reactor = reactor
    }

    func run(_ original: PendingMessage, done: @escaping (Result<IngestOutcome, PGError>) -> Void) {
        var message = original
        connection.query(IngestSQL.relayed(keys: message.threadKeys).sql, IngestSQL.relayed(keys: message.threadKeys).params) {
            [self] result in
            switch result {
            case .failure(let error):
                done(.failure(error))
            case .success(let rows):
                var unstored: [(queueID: String, raw: [UInt8], account: String)] = []
                for row in rows.rows {
                    guard let queueID = row.string("id") else { continue }
                    let id = row.string("message_id").flatMap(MessageIDs.first)
                    if id != nil, id == message.facts.messageID {
                        message.queueID = queueID          // this is (a copy of) a message we relayed
                        continue
                    }
                    guard row.bool("unstored") == true, let raw = row.bytes("message") else { continue }
                    unstored.append((queueID, raw, row.string("account") ?? message.account))
                }
                guard !unstored.isEmpty else { return self.storeAll([], then: message, done: done) }
                let (found, rows) = (message, unstored)
                self.reactor.offload({
                    rows.map { row in
                        PendingMessage(raw: row.raw, facts: MessageAnalysis.facts(row.raw), report: .none,
                                       account: row.account, folder: nil, uid: nil, direction: .outbound,
                                       queueID: row.queueID)
                    }
                }, then: { relayed in self.storeAll(relayed, then: found, done: done) })
            }
        }
    }

    private func storeAll(_ relayed: [PendingMessage], then message: PendingMessage,
                          done: @escaping (Result<IngestOutcome, PGError>) -> Void) {
        guard let first = relayed.first else {
            return store(message) { [self] stored in
                switch stored {
                case .failure(let error):
                    done(.failure(error))
                case .success(let stored):
                    var outcome = IngestOutcome(messageRowID: stored.rowID, threadID: stored.threadID,
                                                duplicate: stored.duplicate, newThread: stored.newThread,
                                                reportType: message.reportType, events: [], relayedStored: 0)
                    guard !stored.duplicate else { return done(.success(outcome)) }
                    BounceRecorder(connection: connection).record(message) { [self] recorded in
                        switch recorded {
                        case .failure(let error):
                            done(.failure(error))
                        case .success(let events):
                            outcome.events = events
                            guard let request = message.unsubscribe else { return done(.success(outcome)) }
                            let statement = UnsubscribeSQL.unsubscribe(request, via: "mailto")
                            connection.query(statement.sql, statement.params) { result in
                                done(result.map { rows in
                                    outcome.events.append(IngestedEvent(
                                        recipient: request.recipient, event: "unsubscribed", reason: "unsubscribe",
                                        status: nil, queueID: nil, sendID: nil, suppressed: rows.count > 0))
                                    return outcome
                                })
                            }
                        }
                    }
                }
            }
        }
        store(first) { [self] stored in
            switch stored {
            case .failure(let error):
                done(.failure(error))
            case .success:
                storeAll(Array(relayed.dropFirst()), then: message) { result in
                    done(result.map { outcome in
                        var counted = outcome
                        counted.relayedStored += 1
                        return counted
                    })
                }
            }
        }
    }

    /// Locks, duplicate check, thread lookup; then the thread (found, merged or new) and the rows.
    func store(_ message: PendingMessage, done: @escaping (Result<StoredMessage, PGError>) -> Void) {
        let facts = message.facts
        let keys = message.threadKeys
        // The subject key also serialises ingests of id-less copies of one message (same subject).
        let lockKeys = keys + ["subject:" + facts.normalisedSubject.text]
        connection.batch([
            IngestSQL.lock(keys: lockKeys),
            IngestSQL.duplicate(message),
            IngestSQL.threads(keys: keys, ownID: facts.messageID),
            IngestSQL.storedAttachments(facts.attachments.map(\.sha256)),
        ]) { [self] result in
            switch result {
            case .failure(let error):
                done(.failure(error))
            case .success(let results) where results.count == 4:
                if let existing = results[1].first, let id = existing.int("id"), let thread = existing.int("thread_id") {
                    return markRelayed(existing: id, queueID: existing.string("queue_id") == nil ? message.queueID : nil) {
                        done($0.map { StoredMessage(rowID: id, threadID: thread, duplicate: true, newThread: false) })
                    }
                }
                let threads = results[2].rows.compactMap { $0.int("thread_id") }
                let known = Set(results[3].rows.compactMap { $0.string("sha256") })
                if let keep = threads.first {
                    return insert(message, thread: keep, merging: Array(threads.dropFirst()), newThread: false,
                                  knownAttachments: known, done: done)
                }
                findOrCreateThread(message) { [self] found in
                    switch found {
                    case .failure(let error): done(.failure(error))
                    case .success(let (thread, isNew)):
                        insert(message, thread: thread, merging: [], newThread: isNew, knownAttachments: known, done: done)
                    }
                }
            case .success:
                done(.failure(PGError(.unsupported, "unexpected results from the ingest lookup")))
            }
        }
    }

    /// A later copy of a message we relayed links the stored one to its queue row.
    private func markRelayed(existing: Int, queueID: String?, done: @escaping (Result<Void, PGError>) -> Void) {
        guard let queueID else { return done(.success(())) }
        connection.query("UPDATE email_messages SET queue_id = $2 WHERE id = $1 AND queue_id IS NULL",
                         [PGValue(existing), PGValue(queueID)]) { done($0.map { _ in () }) }
    }

    private func findOrCreateThread(_ message: PendingMessage, done: @escaping (Result<(Int, Bool), PGError>) -> Void) {
        let facts = message.facts
        let create = { [self] in
            let statement = IngestSQL.createThread(subject: facts.normalisedSubject.text, time: facts.date)
            connection.query(statement.sql, statement.params) { result in
                done(result.flatMap { rows in
                    rows.first?.int("id").map { .success(($0, true)) }
                        ?? .failure(PGError(.unsupported, "no id for the new thread"))
                })
            }
        }
        guard message.mayThreadBySubject else { return create() }
        let statement = IngestSQL.threadBySubject(facts.normalisedSubject.text, time: facts.date,
                                                  addresses: facts.participants.map(\.address), account: message.account)
        connection.query(statement.sql, statement.params) { result in
            switch result {
            case .failure(let error): done(.failure(error))
            case .success(let rows):
                if let id = rows.first?.int("id") { return done(.success((id, false))) }
                create()
            }
        }
    }

    private func insert(_ message: PendingMessage, thread: Int, merging others: [Int], newThread: Bool,
                        knownAttachments: Set<String>, done: @escaping (Result<StoredMessage, PGError>) -> Void) {
        let merge = others.isEmpty ? [] : IngestSQL.merge(into: thread, others)
        connection.batch(merge + [IngestSQL.insertMessage(message, thread: thread)]) { [self] result in
            switch result {
            case .failure(let error):
                done(.failure(error))
            case .success(let results):
                guard let id = results.last?.first?.int("id") else { return done(.failure(IngestTransaction.raced)) }
                let facts = message.facts
                var rows: [PGStatement] = []
                if !facts.participants.isEmpty { rows.append(IngestSQL.participants(facts.participants, message: id)) }
                rows += IngestSQL.attachments(facts.attachments, message: id, known: knownAttachments)
                rows.append(IngestSQL.refreshThread(thread))
                connection.batch(rows) { written in
                    done(written.map { _ in StoredMessage(rowID: id, threadID: thread, duplicate: false, newThread: newThread) })
                }
            }
        }
    }
}
