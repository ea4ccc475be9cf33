// One account's sync while this node holds its lock: read the folders' state,
// log in upstream (IMAPUpstreamDialer: TLS, credentials, XOAUTH2), run the pure
// IMAPSyncSession, and hand each new message to IngestStore in order; a folder's
// last_uid moves only after its message is committed. Failures reconnect with
// backoff (1 s doubling to 5 min) and resume from the stored last_uid; a refused
// login marks the account unhealthy. Reading pauses while too much waits to be stored.
import Config
import IMAPProtocol
import Logging
import Metrics
import Postgres
import Reactor
import TLS

final class IMAPSyncWorker {
    enum Limits {
        static let connectTimeout: Duration = .seconds(30)
        static let loginTimeout: Duration = .seconds(60)
        static let firstBackoff: Duration = .seconds(1)
        static let maxBackoff: Duration = .seconds(300)
        /// A session that lived this long starts the backoff over.
        static let stableSession: Duration = .seconds(30)
        static let maxMessageSize = 64 << 20
        /// Message bytes waiting for the database above which reading from the server pauses.
        static let pauseAbove = 32 << 20
        static let resumeBelow = 8 << 20
    }

    /// Work for the database, done one item at a time in the order the session produced it.
    private enum Work {
        /// `first`: the folder had no stored UIDVALIDITY (never synced), so nothing changed.
        case reset(folder: String, uidValidity: UInt32, first: Bool)
        case deliver(folder: String, uid: UInt32, message: [UInt8])
        case skip(folder: String, uid: UInt32, size: Int)
        case batch(folder: String, count: Int, lastUID: UInt32)
    }

    private(set) var account: AccountConfig
    private let reactor: Reactor
    private let pool: PGPool
    private let ingest: IngestStore
    private var logger: Logger
    private var running = false
    private var generation = 0
    private var dialer: IMAPUpstreamDialer?
    private var connection: Connection?
    private var session: IMAPSyncSession?
    private var pollTimer: TimerID?
    private var retryTimer: TimerID?
    private var backoff = Limits.firstBackoff
    private var tlsContext: TLSClientContext?
    private var work: [Work] = []
    private var workIndex = 0
    private var working = false
    private var queuedBytes = 0
    private var readingPaused = false
    private var sessionStartedAt: UInt64 = 0
    private var sessionMessages = 0
    /// Folders of the session in progress with no stored UIDVALIDITY yet.
    private var unsyncedFolders: Set<String> = []

    /// Access tokens for accounts with an oauth2 table.
    var oauth2: OAuth2TokenService?
    /// The OAuth2 token of the login in progress, to report it when refused.
    private var loginToken: String?

    init(account: AccountConfig, reactor: Reactor, pool: PGPool, ingest: IngestStore) {
        self.account = account
        self.reactor = reactor
        self.pool = pool
        self.ingest = ingest
        logger = Logger(label: "imap-sync")
        logger[metadataKey: "account"] = "\(account.name)"
    }

    /// Begins syncing (the lock is held).
    func start() {
        guard !running else { return }
        running = true
        backoff = Limits.firstBackoff
        connect()
    }

    /// Stops at once (the lock is lost or given up, or the process drains): LOGOUT when a session runs.
    func stop(reason: String) {
        guard running else { return }
        running = false
        endSession(reason: reason, polite: true)
        if let retryTimer { reactor.cancel(retryTimer) }
        retryTimer = nil
    }

    /// A new config for the same account: the next session uses it.
    func update(_ newAccount: AccountConfig) {
        let changed = newAccount != account
        account = newAccount
        guard changed, running else { return }
        // A fixed password should not wait out a long backoff: start over now.
        backoff = Limits.firstBackoff
        endSession(reason: "config changed", polite: true)
        if let retryTimer { reactor.cancel(retryTimer) }
        retryTimer = nil
        connect()
    }

    var isRunning: Bool { running }

    // MARK: Connecting

    private func connect() {
        guard running, let target = IMAPUpstreamTarget(account: account) else { return }
        generation += 1
        let current = generation
        pool.query(IMAPSyncStore.folders(account.name).sql, IMAPSyncStore.folders(account.name).params) { [weak self] result in
            guard let self, self.running, self.generation == current else { return }
            switch result {
            case .failure(let error):
                self.retry(after: "cannot read folder state: \(error)")
            case .success(let rows):
                var stored: [String: IMAPSyncFolder] = [:]
                for row in rows.rows {
                    guard let name = row.string("name") else { continue }
                    stored[name] = IMAPSyncFolder(name: name, uidValidity: row.int("uidvalidity").flatMap(UInt32.init(exactly:)),
                                                  lastUID: row.int("last_uid").flatMap(UInt32.init(exactly:)) ?? 0)
                }
                let folders = self.account.syncFolders.map { stored[$0] ?? IMAPSyncFolder(name: $0) }
                self.prepare(target, folders: folders, generation: current)
            }
        }
    }

    private func prepare(_ target: IMAPUpstreamTarget, folders: [IMAPSyncFolder], generation current: Int) {
        guard let oauth2 else { return prepare(target, token: nil, folders: folders, generation: current) }
        oauth2.tokenIfNeeded(for: target) { [weak self] result in
            guard let self, self.running, self.generation == current else { return }
            switch result {
            case .success(let token): self.prepare(target, token: token, folders: folders, generation: current)
            case .failure(let error): self.retry(after: "OAuth2: \(error)")
            }
        }
    }

    private func prepare(_ target: IMAPUpstreamTarget, token: String?, folders: [IMAPSyncFolder],
                         generation current: Int) {
        let cached = tlsContext
        reactor.offload({ target.prepare(cachedContext: cached, oauth2Token: token) }) { [weak self] result in
            guard let self, self.running, self.generation == current else { return }
            switch result {
            case .failure(let error):
                self.retry(after: error.description)
            case .success(let prepared):
                self.tlsContext = prepared.tlsContext
                let dialer = IMAPUpstreamDialer(reactor: self.reactor, endpoint: target.endpoint,
                                                tlsContext: prepared.tlsContext, connectTimeout: Limits.connectTimeout)
                self.dialer = dialer
                self.loginToken = token
                dialer.dial(target.account(prepared, client: nil), timeout: Limits.loginTimeout) { [weak self] outcome in
                    self?.dialed(outcome, target: target, folders: folders, generation: current)
                }
            }
        }
    }

    private func dialed(_ outcome: IMAPUpstreamDialer.Outcome, target: IMAPUpstreamTarget, folders: [IMAPSyncFolder],
                        generation current: Int) {
        let finished = dialer
        dialer = nil
        reactor.schedule(after: .zero) { _ = finished }
        guard running, generation == current else {
            if case .loggedIn(let connection, _, _) = outcome { connection.close() }
            return
        }
        switch outcome {
        case .failed(.authenticationRejected(let text)):
            if let token = loginToken, oauth2?.rejected(account: account.name, token: token) == true {
                // One refresh and an immediate new login before it counts as a failure.
                return retry(after: "OAuth2 token refused, refreshing", delay: .zero)
            }
            logger.error("upstream refused the account's credentials: account marked unhealthy",
                         metadata: ["host": "\(target.host)", "reply": "\(text)"])
            recordHealth(healthy: false)
            retry(after: "authentication failed")
        case .failed(.unavailable(let why)), .failed(.protocolError(let why)):
            retry(after: why)
        case .loggedIn(let connection, let capabilities, let pending):
            recordHealth(healthy: true)
            begin(connection, capabilities: capabilities, pending: pending, folders: folders, target: target)
        }
    }

    private func begin(_ connection: Connection, capabilities: [String], pending: [UInt8], folders: [IMAPSyncFolder],
                       target: IMAPUpstreamTarget) {
        self.connection = connection
        session = IMAPSyncSession(configuration: IMAPSyncConfiguration(
            folders: folders, capabilities: capabilities, maxMessageSize: Limits.maxMessageSize))
        sessionStartedAt = reactor.now
        sessionMessages = 0
        unsyncedFolders = Set(folders.filter { $0.uidValidity == nil }.map(\.name))
        let idle = IMAPCapabilities.contains(capabilities, "IDLE")
        logger.info("sync session started", metadata: [
            "host": "\(target.host)", "folders": "\(account.syncFolders.joined(separator: ","))", "idle": "\(idle)",
        ])
        connection.onBytes = { [unowned self] bytes in self.perform(self.session?.receive(bytes) ?? []) }
        connection.onClosed = { [unowned self] _ in
            self.connection = nil
            self.perform(self.session?.connectionClosed() ?? [])
        }
        perform(session?.start() ?? [])
        if !pending.isEmpty { perform(session?.receive(pending) ?? []) }
    }

    // MARK: Session actions

    private func perform(_ actions: [IMAPSyncAction]) {
        for action in actions {
            switch action {
            case .send(let bytes):
                connection?.write(bytes)
            case .resetFolder(let folder, let uidValidity):
                let first = unsyncedFolders.remove(folder) != nil
                enqueue(.reset(folder: folder, uidValidity: uidValidity, first: first))
            case .deliver(let folder, let uid, let message):
                enqueue(.deliver(folder: folder, uid: uid, message: message))
            case .skipTooLarge(let folder, let uid, let size):
                enqueue(.skip(folder: folder, uid: uid, size: size))
            case .batchFetched(let folder, let count, let lastUID):
                enqueue(.batch(folder: folder, count: count, lastUID: lastUID))
            case .folderUnavailable(let folder, let reason):
                logger.warning("folder not selectable: skipped", metadata: ["folder": "\(folder)", "reason": "\(reason)"])
            case .idling, .waitForPoll:
                armPollTimer()
            case .failed(let failure):
                switch failure {
                case .unavailable(let why): restart(reason: why, failure: true)
                case .protocolError(let why): restart(reason: "protocol error: \(why)", failure: true)
                }
                return
            }
        }
    }

    private func armPollTimer() {
        if let pollTimer { reactor.cancel(pollTimer) }
        pollTimer = reactor.schedule(after: account.syncPollInterval) { [weak self] in
            guard let self else { return }
            self.pollTimer = nil
            self.perform(self.session?.timerFired() ?? [])
        }
    }

    // MARK: Storing

    private func enqueue(_ item: Work) {
        if case .deliver(_, _, let message) = item {
            queuedBytes += message.count
            if queuedBytes > Limits.pauseAbove, !readingPaused, let connection {
                readingPaused = true
                connection.pauseReading()
            }
        }
        work.append(item)
        if !working { storeNext() }
    }

    private func storeNext() {
        guard workIndex < work.count else {
            work.removeAll(keepingCapacity: true)
            workIndex = 0
            working = false
            return
        }
        working = true
        let item = work[workIndex]
        workIndex += 1
        let current = generation
        let name = account.name
        let done: (Result<Void, PGError>) -> Void = { [weak self] result in
            guard let self, self.generation == current else { return }
            switch result {
            case .failure(let error):
                self.restart(reason: "cannot store: \(error)", failure: true)
            case .success:
                self.storeNext()
            }
        }
        switch item {
        case .reset(let folder, let uidValidity, let first):
            let metadata: Logger.Metadata = ["folder": "\(folder)", "uidvalidity": "\(uidValidity)"]
            if first {
                logger.info("folder synced for the first time", metadata: metadata)
            } else {
                logger.warning("UIDVALIDITY changed: folder resynced", metadata: metadata)
            }
            pool.batch(IMAPSyncStore.resetFolder(name, folder, uidValidity: uidValidity)) { done($0.map { _ in () }) }
        case .deliver(let folder, let uid, let message):
            ingest.ingest(raw: message, account: name, folder: folder, uid: Int64(uid), direction: .inbound) { [weak self] result in
                guard let self, self.generation == current else { return }
                self.released(message.count)
                switch result {
                case .failure(let error):
                    done(.failure(error))
                case .success(let outcome):
                    if !outcome.duplicate {
                        self.sessionMessages += 1
                        MailgateMetrics.imapSyncMessage(account: name)
                    }
                    self.pool.batch([IMAPSyncStore.advance(name, folder, uid: uid)]) { done($0.map { _ in () }) }
                }
            }
        case .skip(let folder, let uid, let size):
            logger.warning("message too large: skipped", metadata: ["folder": "\(folder)", "uid": "\(uid)", "size": "\(size)"])
            pool.batch([IMAPSyncStore.advance(name, folder, uid: uid)]) { done($0.map { _ in () }) }
        case .batch(let folder, let count, let lastUID):
            logger.info("batch fetched", metadata: ["folder": "\(folder)", "count": "\(count)", "last_uid": "\(lastUID)"])
            storeNext()
        }
    }

    private func released(_ count: Int) {
        queuedBytes -= count
        if readingPaused, queuedBytes < Limits.resumeBelow {
            readingPaused = false
            connection?.resumeReading()
        }
    }

    // MARK: Ending and retrying

    /// Ends the session (if any) and, while running, reconnects after the backoff.
    private func restart(reason: String, failure: Bool) {
        endSession(reason: reason, polite: !failure)
        retry(after: reason)
    }

    private func endSession(reason: String, polite: Bool) {
        generation += 1
        dialer?.cancel()
        dialer = nil
        if let pollTimer { reactor.cancel(pollTimer) }
        pollTimer = nil
        work = []
        workIndex = 0
        working = false
        queuedBytes = 0
        readingPaused = false
        if let connection {
            connection.onBytes = nil
            connection.onClosed = nil
            if polite, var session {
                for case .send(let bytes) in session.logout() { connection.write(bytes) }
                connection.closeAfterFlush()
            } else {
                connection.close()
            }
            self.connection = nil
        }
        if session != nil {
            let seconds = Double(reactor.now &- sessionStartedAt) / 1e9
            logger.info("sync session stopped", metadata: ["reason": "\(reason)", "messages": "\(sessionMessages)",
                                                           "duration": "\(Int(seconds))s"])
            if seconds >= Double(Limits.stableSession.components.seconds) { backoff = Limits.firstBackoff }
        }
        session = nil
    }

    private func retry(after reason: String, delay chosen: Duration? = nil) {
        generation += 1
        guard running else { return }
        let delay = chosen ?? backoff
        if chosen == nil { backoff = min(backoff * 2, Limits.maxBackoff) }
        logger.warning("sync will reconnect", metadata: ["reason": "\(reason)", "after": "\(DurationText.render(delay))"])
        if let retryTimer { reactor.cancel(retryTimer) }
        retryTimer = reactor.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.retryTimer = nil
            self.connect()
        }
    }

    private func recordHealth(healthy: Bool) {
        pool.batch([IMAPSyncStore.health(account.name, address: account.address, healthy: healthy)]) { [logger] result in
            if case .failure(let error) = result {
                logger.error("cannot record the account's health", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension MailgateMetrics {
    static let imapSyncMessages = "mailgate_imap_sync_messages_total"

    /// A message the sync stored (not one it had stored before).
    static func imapSyncMessage(account: String) {
        Counter(label: imapSyncMessages, dimensions: [("account", account)]).increment()
    }
}
