// The IMAP sync of every [[account]] with an imap URL and sync folders, one
// node per account at a time: a dedicated PostgreSQL connection holds a session
// advisory lock per account for as long as that account syncs here, and the
// locks not held are tried again every few seconds, so another node takes over
// when the holder dies (its locks go with its connection). Losing the lock
// connection stops every sync of this node at once.
import Config
import Logging
import Metrics
import Postgres
import Reactor

final class IMAPSyncService: DrainableSession {
    enum Limits {
        /// How often locks not held (and a lost lock connection) are tried again.
        static let lockRetry: Duration = .seconds(5)
    }

    private let reactor: Reactor
    private let pool: PGPool
    private let databaseURL: String
    private let ingest: IngestStore
    private let logger = Logger(label: "imap-sync")
    private var config: MailgateConfig
    private var workers: [String: IMAPSyncWorker] = [:]
    /// Access tokens for accounts with an oauth2 table.
    var oauth2: OAuth2TokenService?
    private var lockConnection: PGConnection?
    private var connecting = false
    private var attempting = false
    private var retryTimer: TimerID?
    private var draining = false
    private var onDrained: (() -> Void)?

    /// `unsubscribeKey` verifies the tokens of mailto unsubscribes found in the mailboxes.
    init(reactor: Reactor, pool: PGPool, databaseURL: String, config: MailgateConfig,
         unsubscribeKey: @escaping () -> [UInt8]?) {
        self.reactor = reactor
        self.pool = pool
        self.databaseURL = databaseURL
        self.config = config
        ingest = IngestStore(pool: pool, unsubscribeKey: unsubscribeKey)
    }

    /// The accounts this node should sync (when it gets their locks).
    private static func syncedAccounts(_ config: MailgateConfig) -> [AccountConfig] {
        config.accounts.filter { $0.imap != nil && !$0.syncFolders.isEmpty && $0.credential != .none }
    }

    func start(registry: SessionRegistry) {
        registry.add(self)
        onDrained = { registry.remove(self) }
        tick()
    }

    func reload(_ newConfig: MailgateConfig) {
        config = newConfig
        let wanted = Dictionary(Self.syncedAccounts(newConfig).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (name, worker) in workers {
            if let account = wanted[name] {
                worker.update(account)
            } else {
                worker.stop(reason: "account no longer synced")
                workers[name] = nil
                release(name)
            }
        }
        tick()
    }

    // MARK: Locks

    /// Connects the lock connection if needed, tries the locks not held, and schedules the next try.
    private func tick() {
        guard !draining, !Self.syncedAccounts(config).isEmpty else { return }
        if retryTimer == nil {
            retryTimer = reactor.schedule(after: Limits.lockRetry) { [weak self] in
                self?.retryTimer = nil
                self?.tick()
            }
        }
        guard let connection = lockConnection, connection.isAlive else { return connectLockConnection() }
        let missing = Self.syncedAccounts(config).filter { workers[$0.name] == nil }
        guard !missing.isEmpty, !attempting else { return }
        attempting = true
        connection.batch(missing.map { IMAPSyncStore.tryLock($0.name) }) { [weak self] result in
            guard let self else { return }
            self.attempting = false
            guard !self.draining, self.lockConnection === connection else { return }
            switch result {
            case .failure(let error):
                self.logger.error("cannot try the sync locks", metadata: ["error": "\(error)"])
            case .success(let results):
                for (account, locked) in zip(missing, results) where locked.first?.bool("locked") == true {
                    self.acquired(account)
                }
            }
        }
    }

    private func acquired(_ account: AccountConfig) {
        // The config may have changed while the lock was asked for.
        guard let current = Self.syncedAccounts(config).first(where: { $0.name == account.name }) else {
            return release(account.name)
        }
        logger.info("sync lock acquired", metadata: ["account": "\(current.name)"])
        let worker = IMAPSyncWorker(account: current, reactor: reactor, pool: pool, ingest: ingest)
        worker.oauth2 = oauth2
        workers[current.name] = worker
        worker.start()
    }

    private func release(_ name: String) {
        lockConnection?.batch([IMAPSyncStore.unlock(name)]) { _ in }
    }

    private func connectLockConnection() {
        guard !connecting else { return }
        connecting = true
        PGConnection.connect(reactor: reactor, url: databaseURL) { [weak self] result in
            guard let self else { return }
            self.connecting = false
            switch result {
            case .failure(let error):
                self.logger.error("cannot open the sync lock connection", metadata: ["error": "\(error)"])
            case .success(let connection):
                guard !self.draining else { return connection.close() }
                self.lockConnection = connection
                connection.onClose = { [weak self, weak connection] error in
                    guard let self, let connection, self.lockConnection === connection else { return }
                    self.lockConnection = nil
                    self.lockLost(error)
                }
                self.tick()
            }
        }
    }

    /// The locks went with the connection: another node may sync these accounts now.
    private func lockLost(_ error: PGError) {
        guard !workers.isEmpty else { return }
        logger.error("sync lock connection lost: syncs stopped", metadata: ["error": "\(error)",
                                                                          "accounts": "\(workers.count)"])
        for worker in workers.values { worker.stop(reason: "lock lost") }
        workers = [:]
    }

    // MARK: Drain

    func drain() {
        guard !draining else { return }
        draining = true
        if let retryTimer { reactor.cancel(retryTimer) }
        retryTimer = nil
        for worker in workers.values { worker.stop(reason: "draining") }
        workers = [:]
        let connection = lockConnection
        lockConnection = nil
        connection?.onClose = nil
        connection?.close()
        onDrained?()
        onDrained = nil
    }

    func abort() { drain() }
}
