// `mailgate serve`: the process's lifecycle around one event loop. Opens the
// listeners of the config; SIGHUP reloads the config and certificates (a bad
// new config is refused with its errors logged and the old one stays in
// force); SIGTERM/SIGINT drain: stop accepting, let sessions finish within
// [server] drain_timeout, then exit 0.
import Config
import Glibc
import Logging
import Reactor

public final class Server {
    private let reactor: Reactor
    private let logger = Logger(label: "server")
    private var config: MailgateConfig
    private let sessions = SessionRegistry()
    private var groups: [ListenerGroup] = []
    private var draining = false

    private init(reactor: Reactor, config: MailgateConfig) {
        self.reactor = reactor
        self.config = config
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
        LogfmtLogHandler.bootstrap(level: .info)
        do {
            let server = Server(reactor: try Reactor(), config: config)
            return server.serve()
        } catch {
            Logger(label: "server").critical("cannot start", metadata: ["error": "\(error)"])
            return 1
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
        let failures = applyListeners()
        guard failures.isEmpty else {
            for failure in failures { logger.critical("cannot listen", metadata: ["error": "\(failure)"]) }
            return 1
        }
        logger.info("serving", metadata: ["config": "\(config.path)", "pid": "\(getpid())"])
        reactor.run()
        logger.info("stopped")
        return 0
    }

    private func makeGroups() -> [ListenerGroup] {
        [
            ListenerGroup(name: "submission", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .submission)
            },
            ListenerGroup(name: "submission-tls", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .submission)
            },
            ListenerGroup(name: "imap", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .imap)
            },
            ListenerGroup(name: "imap-tls", reactor: reactor, logger: logger) { [unowned self] in
                self.accept($0, service: .imap)
            },
        ]
    }

    private func listenerSpecs(_ config: MailgateConfig) -> [[SocketAddressSpec]] {
        [config.submission.listen, config.submission.listenTLS, config.imap.listen, config.imap.listenTLS]
    }

    private func applyListeners() -> [String] {
        zip(groups, listenerSpecs(config)).flatMap { group, specs in group.update(to: specs) }
    }

    // MARK: Sessions

    private enum Service {
        case submission, imap
    }

    private func accept(_ connection: Connection, service: Service) {
        guard !draining else { return connection.close() }
        // The SMTP and IMAP sessions arrive with their issues; until then each
        // listener answers that the service is not available, as RFC 5321 and
        // RFC 9051 allow, and closes.
        let greeting: String
        switch service {
        case .submission: greeting = "421 4.3.2 \(config.server.hostname) Service not available yet\r\n"
        case .imap: greeting = "* BYE Service not available yet\r\n"
        }
        let session = ClosingSession(connection: connection, registry: sessions)
        sessions.add(session)
        connection.write(Array(greeting.utf8))
        connection.closeAfterFlush()
    }

    // MARK: Signals

    private func reload() {
        logger.info("reloading", metadata: ["config": "\(config.path)"])
        switch ConfigLoader.load(path: config.path, databaseURLOverride: Environment.databaseURL) {
        case .failure(let errors):
            for error in errors.errors { logger.error("config refused", metadata: ["error": "\(error)"]) }
            logger.error("reload refused: the old config stays in force", metadata: ["errors": "\(errors.errors.count)"])
        case .success(let newConfig):
            config = newConfig
            for failure in applyListeners() { logger.error("cannot listen", metadata: ["error": "\(failure)"]) }
            logger.info("reloaded", metadata: ["config": "\(config.path)"])
        }
    }

    private func drain(signal: String) {
        guard !draining else { return }
        draining = true
        for group in groups { group.closeAll() }
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

/// A session that only says goodbye: what the listeners do until their service lands.
private final class ClosingSession: DrainableSession {
    private let connection: Connection

    init(connection: Connection, registry: SessionRegistry) {
        self.connection = connection
        connection.onClosed = { [unowned self, unowned registry] _ in registry.remove(self) }
    }

    func drain() { connection.closeAfterFlush() }
    func abort() { connection.close() }
}
