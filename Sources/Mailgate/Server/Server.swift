// `mailgate serve`: the process's lifecycle around one event loop. Opens the
// listeners of the config (then, with [server] user, runs as that user);
// SIGHUP reloads the config and certificates and logs what changed (a bad new
// config is refused with its errors logged and the old one stays in force);
// SIGTERM/SIGINT drain: stop accepting, let sessions finish within [server]
// drain_timeout, hand back the relay's leases, then exit 0.
import Auth
import Config
import Glibc
import Logging
import Postgres
import Reactor
import TLS

public final class Server {
    private let reactor: Reactor
    private let logger = Logger(label: "server")
    private var config: MailgateConfig
    private let sessions = SessionRegistry()
    private var groups: [ListenerGroup] = []
    private var draining = false
    /// nil only while no listener is configured (check-config insists on [tls] otherwise).
    private var tls: TLSServerContextHolder?
    private let users: UserDirectory
    private let submission: SubmissionService
    private let imap: IMAPProxyService
    private let database: PGPool
    private let relay: RelayEngine
    private let watch: AccountWatch
    private let retention: RetentionJob
    private let archive: RelayedArchive
    private let imapSync: IMAPSyncService
    private let webhooks: WebhookDispatcher
    private var metrics: MetricsServer?
    private var stopping = false
    private let unsubscribeLinks: UnsubscribeLinks
    private var unsubscribe: UnsubscribeServer?
    private let inbound: InboundDelivery
    private let oauth2: OAuth2TokenService

    private init(reactor: Reactor, config: MailgateConfig, tls: TLSServerContextHolder?, databaseURL: String,
                 unsubscribeLinks: UnsubscribeLinks) {
        self.reactor = reactor
        self.unsubscribeLinks = unsubscribeLinks
        self.config = config
        self.tls = tls
        database = PGPool(reactor: reactor, url: databaseURL, size: config.database.poolSize)
        users = UserDirectory(hashes: Self.passwordHashes(config))
        let sasl = SASLServer(service: "smtp", hostname: config.server.hostname, users: users)
        submission = SubmissionService(reactor: reactor, config: config, sasl: sasl,
                                       queue: QueueWriter(pool: database, maxInFlight: config.database.poolSize / 2),
                                       registry: sessions)
        imap = IMAPProxyService(reactor: reactor, config: config, users: users, registry: sessions)
        relay = RelayEngine(reactor: reactor, pool: database, databaseURL: databaseURL, config: config)
        watch = AccountWatch(reactor: reactor, pool: database, config: config)
        retention = RetentionJob(reactor: reactor, pool: database, retention: config.retention)
        archive = RelayedArchive(reactor: reactor, pool: database, store: IngestStore(pool: database))
        imapSync = IMAPSyncService(reactor: reactor, pool: database, databaseURL: databaseURL, config: config,
                                   unsubscribeKey: { [unowned unsubscribeLinks] in unsubscribeLinks.key })
        relay.unsubscribeLinks = unsubscribeLinks
        oauth2 = OAuth2TokenService(reactor: reactor, pool: database)
        relay.oauth2 = oauth2
        watch.oauth2 = oauth2
        imap.oauth2 = oauth2
        imapSync.oauth2 = oauth2
        inbound = InboundDelivery(pool: database, config: config, unsubscribeKey: { [unowned unsubscribeLinks] in
            unsubscribeLinks.key
        })
        submission.inbound = inbound
        webhooks = WebhookDispatcher(reactor: reactor, pool: database, databaseURL: databaseURL, config: config)
        submission.tlsContext = { [unowned self] in self.tls?.current }
        imap.tlsContext = { [unowned self] in self.tls?.current }
    }

    private static func passwordHashes(_ config: MailgateConfig) -> [String: String] {
        Dictionary(config.users.map { ($0.name, $0.passwordHash) }, uniquingKeysWith: { first, _ in first })
    }

    /// Runs the server until drained; returns the process exit status.
    public static func run(configPath: String) -> Int32 {
        Reactor.ignoreSIGPIPE()
        Reactor.raiseDescriptorLimit()
        let config: MailgateConfig
        switch ConfigLoader.load(path: configPath, databaseURLOverride: Environment.databaseURL) {
        case .success(let loaded):
            config = loaded
        case .failure(let errors):
            for error in errors.errors { Standard.error("\(error)") }
            return 2
        }
        guard let databaseURL = config.database.url else {
            Standard.error("\(config.path): [database] url is not set (nor MAILGATE_DATABASE_URL): "
                + "mailgate keeps its queue in PostgreSQL")
            return 2
        }
        LogfmtLogHandler.bootstrap(level: .info)
        MetricsRegistry.bootstrap()
        let tls: TLSServerContextHolder?
        switch loadCertificate(config) {
        case .success(let holder):
            tls = holder
        case .failure(let error):
            Standard.error("\(config.path): [tls] \(error)")
            return 1
        }
        let links: UnsubscribeLinks
        do {
            links = try UnsubscribeLinks(config: config)
        } catch {
            Standard.error("\(config.path): [unsubscribe] \(error)")
            return 1
        }
        do {
            let server = Server(reactor: try Reactor(), config: config, tls: tls, databaseURL: databaseURL,
                                unsubscribeLinks: links)
            return server.serve()
        } catch {
            Logger(label: "server").critical("cannot start", metadata: ["error": "\(error)"])
            return 1
        }
    }

    /// The listeners' certificate, when the config names one.
    private static func loadCertificate(_ config: MailgateConfig) -> Result<TLSServerContextHolder?, TLSError> {
        guard let files = config.tls else { return .success(nil) }
        do {
            let context = try TLSServerContext(certificateChainFile: files.certificate, privateKeyFile: files.privateKey)
            return .success(TLSServerContextHolder(context))
        } catch {
            return .failure(error)
        }
    }

    private func serve() -> Int32 {
        do {
            try reactor.onSignal(SIGHUP) { [unowned self] in self.reload() }
            try reactor.onSignal(SIGTERM) { [unowned self] in self.drain(signal: "TERM") }
            try reactor.onSignal(SIGINT) { [unowned self] in self.drain(signal: "INT") }
        } catch {
            logger.critical("cannot route signals", metadata: ["error": "\(error)"])
            return 1
        }
        groups = makeGroups()
        metrics = MetricsServer(reactor: reactor, pool: database, config: { [unowned self] in self.config },
                                listenersProblem: { [unowned self] in self.listenersNotOpen() })
        unsubscribe = UnsubscribeServer(reactor: reactor, pool: database, links: unsubscribeLinks)
        let failures = applyListeners()
        guard failures.isEmpty else {
            for failure in failures { logger.critical("cannot listen", metadata: ["error": "\(failure)"]) }
            return 1
        }
        if let user = config.server.user {
            switch Privileges.drop(to: user) {
            case .success(let dropped):
                logger.info("running as \(user)", metadata: ["uid": "\(dropped.uid)", "gid": "\(dropped.gid)"])
            case .failure(let error):
                logger.critical("cannot run as \(user)", metadata: ["error": "\(error)"])
                return 1
            }
        }
        watch.start()
        retention.start(firstAfter: min(.seconds(60), config.retention.interval))
        archive.start()
        imapSync.start(registry: sessions)
        // Bulk mail must not leave before its unsubscribe links can be signed.
        unsubscribeLinks.loadStoredKey(pool: database, reactor: reactor) { [unowned self] in
            guard !self.draining else { return }
            self.relay.start(registry: self.sessions)
        }
        webhooks.start(registry: sessions)
        logger.info("serving", metadata: ["config": "\(config.path)", "pid": "\(getpid())"])
        reactor.run()
        logger.info("stopped")
        return 0
    }

    private func makeGroups() -> [ListenerGroup] {
        [
            ListenerGroup(name: "submission", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .submission(implicitTLS: false))
            },
            ListenerGroup(name: "submission-tls", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .submission(implicitTLS: true))
            },
            ListenerGroup(name: "imap", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .imap(implicitTLS: false))
            },
            ListenerGroup(name: "imap-tls", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .imap(implicitTLS: true))
            },
            ListenerGroup(name: "inbound", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .inbound)
            },
        ]
    }

    private func listenerSpecs(_ config: MailgateConfig) -> [[SocketAddressSpec]] {
        [config.submission.listen, config.submission.listenTLS, config.imap.listen, config.imap.listenTLS,
         config.inbound.listen]
    }

    private func applyListeners() -> [String] {
        zip(groups, listenerSpecs(config)).flatMap { group, specs in group.update(to: specs) }
            + [metrics?.update(to: config.metrics?.listen), unsubscribe?.update(to: config.unsubscribe?.listen)]
                .compactMap { $0 }
    }

    /// For /health: the configured listeners that are not open, or nil when all are.
    private func listenersNotOpen() -> String? {
        let missing = zip(groups, listenerSpecs(config)).flatMap { group, specs in group.missing(from: specs) }
        return missing.isEmpty ? nil : "listeners not open: \(missing.joined(separator: ", "))"
    }

    // MARK: Sessions

    private enum Service {
        case submission(implicitTLS: Bool)
        case imap(implicitTLS: Bool)
        case inbound
    }

    private func accept(_ connection: Connection, service: Service) {
        guard !draining else { return connection.close() }
        switch service {
        case .submission(let implicitTLS):
            submission.accept(connection, implicitTLS: implicitTLS)
        case .imap(let implicitTLS):
            imap.accept(connection, implicitTLS: implicitTLS)
        case .inbound:
            submission.acceptInbound(connection)
        }
    }

    // MARK: Signals

    private func reload() {
        logger.info("reloading", metadata: ["config": "\(config.path)"])
        switch ConfigLoader.load(path: config.path, databaseURLOverride: Environment.databaseURL) {
        case .failure(let errors):
            for error in errors.errors { logger.error("config refused", metadata: ["error": "\(error)"]) }
            logger.error("reload refused: the old config stays in force", metadata: ["errors": "\(errors.errors.count)"])
        case .success(let newConfig):
            reloadCertificate(newConfig)
            let changes = ConfigChanges.between(config, newConfig)
            for change in changes { logger.info("config changed", metadata: ["change": "\(change)"]) }
            if changes.isEmpty { logger.info("config unchanged") }
            if newConfig.server.user != config.server.user {
                logger.warning("[server] user takes effect at the next start")
            }
            config = newConfig
            users.replace(hashes: Self.passwordHashes(newConfig))
            submission.reload(newConfig)
            imap.reload(newConfig)
            oauth2.reload(newConfig)
            relay.reload(newConfig)
            watch.reload(newConfig)
            retention.reload(newConfig.retention)
            imapSync.reload(newConfig)
            inbound.reload(newConfig)
            do {
                try unsubscribeLinks.reload(newConfig)
            } catch {
                logger.error("unsubscribe key refused: the old one stays in force", metadata: ["error": "\(error)"])
            }
            webhooks.reload(newConfig)
            for failure in applyListeners() { logger.error("cannot listen", metadata: ["error": "\(failure)"]) }
            logger.info("reloaded", metadata: ["config": "\(config.path)"])
        }
    }

    /// Re-reads the certificate and key; sessions already open keep theirs. A bad pair
    /// is refused and the old one stays in force.
    private func reloadCertificate(_ newConfig: MailgateConfig) {
        guard let files = newConfig.tls else { return }
        do {
            let context: TLSServerContext
            if let tls {
                context = try tls.reload(certificateChainFile: files.certificate, privateKeyFile: files.privateKey)
            } else {
                context = try TLSServerContext(certificateChainFile: files.certificate, privateKeyFile: files.privateKey)
                tls = TLSServerContextHolder(context)
            }
            logger.info("certificate loaded", metadata: ["subject": "\(context.describe().subject)",
                                                         "expires": "\(context.describe().notAfter)"])
        } catch {
            logger.error("certificate refused: the old one stays in force", metadata: ["error": "\(error)"])
        }
    }

    private func drain(signal: String) {
        guard !draining else { return }
        draining = true
        for group in groups { group.closeAll() }
        metrics?.close()
        unsubscribe?.close()
        imap.drain()
        logger.info("draining", metadata: ["signal": "\(signal)", "sessions": "\(sessions.count)",
                                           "deadline": "\(DurationText.render(config.server.drainTimeout))"])
        watch.stop()
        retention.stop()
        archive.stop()
        let deadline = reactor.schedule(after: config.server.drainTimeout) { [unowned self] in
            self.logger.warning("drain deadline passed: closing sessions", metadata: ["sessions": "\(self.sessions.count)"])
            self.sessions.abortAll()
            self.stop()
        }
        sessions.drainAll { [unowned self] in
            self.reactor.cancel(deadline)
            self.stop()
        }
    }

    /// Hands back the relay's leases, then ends the loop; a database that does not answer
    /// within a few seconds leaves them to expire.
    private func stop() {
        guard !stopping else { return }
        stopping = true
        let giveUp = reactor.schedule(after: .seconds(5)) { [unowned self] in
            self.logger.warning("leases not released in time: they expire by themselves")
            self.reactor.stop()
        }
        relay.releaseLeases { [unowned self] in
            self.reactor.cancel(giveUp)
            self.reactor.stop()
        }
    }
}
