// `mailgate serve`: the process's lifecycle around one event loop. Opens the
// listeners of the config; SIGHUP reloads the config and certificates (a bad
// new config is refused with its errors logged and the old one stays in
// force); SIGTERM/SIGINT drain: stop accepting, let sessions finish within
// [server] drain_timeout, then exit 0.
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
    private let webhooks: WebhookDispatcher
    private var metrics: MetricsServer?

    private init(reactor: Reactor, config: MailgateConfig, tls: TLSServerContextHolder?, databaseURL: String) {
        self.reactor = reactor
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
        do {
            let server = Server(reactor: try Reactor(), config: config, tls: tls, databaseURL: databaseURL)
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
        let failures = applyListeners()
        guard failures.isEmpty else {
            for failure in failures { logger.critical("cannot listen", metadata: ["error": "\(failure)"]) }
            return 1
        }
        relay.start(registry: sessions)
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
        ]
    }

    private func listenerSpecs(_ config: MailgateConfig) -> [[SocketAddressSpec]] {
        [config.submission.listen, config.submission.listenTLS, config.imap.listen, config.imap.listenTLS]
    }

    private func applyListeners() -> [String] {
        zip(groups, listenerSpecs(config)).flatMap { group, specs in group.update(to: specs) }
            + [metrics?.update(to: config.metrics?.listen)].compactMap { $0 }
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
    }

    private func accept(_ connection: Connection, service: Service) {
        guard !draining else { return connection.close() }
        switch service {
        case .submission(let implicitTLS):
            submission.accept(connection, implicitTLS: implicitTLS)
        case .imap(let implicitTLS):
            imap.accept(connection, implicitTLS: implicitTLS)
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
            config = newConfig
            users.replace(hashes: Self.passwordHashes(newConfig))
            submission.reload(newConfig)
            imap.reload(newConfig)
            relay.reload(newConfig)
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
        logger.info("draining", metadata: ["signal": "\(signal)", "sessions": "\(sessions.count)",
                                           "deadline": "\(DurationText.render(config.server.drainTimeout))"])
        let deadline = reactor.schedule(after: config.server.drainTimeout) { [unowned self] in
            self.logger.warning("drain deadline passed: closing sessions", metadata: ["sessions": "\(self.sessions.count)"])
            self.sessions.abortAll()
            self.reactor.stop()
        }
        sessions.drainAll { [unowned self] in
            self.reactor.cancel(deadline)
            self.reactor.stop()
        }
    }
}
