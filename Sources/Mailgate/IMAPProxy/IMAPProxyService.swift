// The IMAP proxy service: what every proxy session shares. It caps
// connections per client address, throttles failed logins per address, holds
// the gateway users (checked off the loop), the certificate for the client
// side, the upstream TLS client contexts (one per CA file, rebuilt after a
// reload) and the pool of ready upstream connections. `reload` swaps in a new
// config: sessions already relaying keep their upstream; logins from then on
// use the new accounts and users.
import Auth
import Config
import IMAPProtocol
import Logging
import Reactor
import TLS

final class IMAPProxyService {
    /// Fixed limits (no config keys for them).
    enum Limits {
        /// Connections open at once from one client address (an office behind
        /// NAT with a dozen clients at ~5 connections each fits).
        static let maxConnectionsPerAddress = 64
        /// Silence allowed before login (Dovecot's imap-login allows minutes, not hours).
        static let preLoginIdle: Duration = .seconds(60)
        /// From connect to the end of the upstream login.
        static let loginDeadline: Duration = .seconds(180)
        static let upstreamConnectTimeout: Duration = .seconds(30)
        /// Resolving, connecting, TLS and logging in upstream.
        static let upstreamLoginTimeout: Duration = .seconds(60)
        /// A credential read from its file serves the logins of this long without reading
        /// it again (a changed file counts from then, or at once after SIGHUP).
        static let preparedLifetime: Duration = .seconds(60)
    }

    let reactor: Reactor
    let users: UserDirectory
    /// The certificate new TLS sessions use (swapped on reload); nil when none is configured.
    var tlsContext: () -> TLSServerContext? = { nil }
    private(set) var config: MailgateConfig
    private let registry: SessionRegistry
    private let logger = Logger(label: "imap")
    /// The pre-login machine ends a session after its own limit of failures; the throttle only delays.
    private var throttle = AuthThrottle(baseDelay: .seconds(1), maxFailures: .max)
    private var connectionsPerAddress: [[UInt8]: Int] = [:]
    private var sessions: [ObjectIdentifier: IMAPProxySession] = [:]
    private var refusing: [ObjectIdentifier: Connection] = [:]
    /// Ended sessions kept until the loop is out of their callbacks.
    private var retired: [IMAPProxySession] = []
    /// Upstream TLS client contexts by CA file ("" for the system CAs).
    private var clientContexts: [String: TLSClientContext] = [:]
    /// Credentials read from files, by account, with when they were read (reactor.now).
    private var prepared: [String: (upstream: IMAPPreparedUpstream, readAt: UInt64)] = [:]
    let upstreamPool: IMAPUpstreamPool

    init(reactor: Reactor, config: MailgateConfig, users: UserDirectory, registry: SessionRegistry) {
        self.reactor = reactor
        self.config = config
        self.users = users
        self.registry = registry
        upstreamPool = IMAPUpstreamPool(reactor: reactor, size: config.imap.upstreamPool, logger: logger)
    }

    func reload(_ newConfig: MailgateConfig) {
        config = newConfig
        // CA files may have changed on disk: contexts are rebuilt on next use,
        // and ready connections verified with the old ones are dropped.
        clientContexts = [:]
        prepared = [:]
        upstreamPool.closeAll()
        upstreamPool.size = newConfig.imap.upstreamPool
    }

    /// SIGTERM: no more ready upstream connections (sessions drain through the registry).
    func drain() {
        upstreamPool.stop()
    }

    var relayIdleTimeout: Duration { config.imap.idleTimeout }

    var sessionCount: Int { sessions.count }

    // MARK: Connections

    func accept(_ connection: Connection, implicitTLS: Bool) {
        let address = connection.peer.bytes
        let open = connectionsPerAddress[address, default: 0]
        guard open < Limits.maxConnectionsPerAddress else {
            logger.warning("refused", metadata: ["client": "\(connection.peer.host)",
                                                 "reason": "too many connections from this address"])
            // Before a TLS handshake a plaintext BYE is noise; on STARTTLS ports it is the answer.
            return refuse(connection, with: implicitTLS ? nil : "* BYE Too many connections from your address\r\n")
        }
        connectionsPerAddress[address] = open + 1
        let policy = IMAPPreLoginPolicy(implicitTLS: implicitTLS, serverName: "mailgate")
        let session = IMAPProxySession(connection: connection, service: self, policy: policy, logger: logger)
        sessions[ObjectIdentifier(session)] = session
        registry.add(session)
        MailgateMetrics.sessionOpened(.imap)
        session.start()
    }

    private func refuse(_ connection: Connection, with goodbye: String?) {
        let id = ObjectIdentifier(connection)
        refusing[id] = connection
        connection.onClosed = { [unowned self] _ in self.refusing[id] = nil }
        if let goodbye { connection.write(Array(goodbye.utf8)) }
        connection.closeAfterFlush()
    }

    func sessionEnded(_ session: IMAPProxySession) {
        guard let ended = sessions.removeValue(forKey: ObjectIdentifier(session)) else { return }
        MailgateMetrics.sessionClosed(.imap)
        let address = session.connection.peer.bytes
        if let open = connectionsPerAddress[address] {
            connectionsPerAddress[address] = open > 1 ? open - 1 : nil
        }
        registry.remove(session)
        // Called from inside the session's connection callbacks: release it on the next turn of the loop.
        retired.append(ended)
        if retired.count == 1 {
            reactor.schedule(after: .zero) { [unowned self] in self.retired.removeAll() }
        }
    }

    // MARK: Logins

    func loginDelay(for peer: SocketAddress) -> Duration {
        throttle.delay(for: peer.bytes, now: reactor.now)
    }

    func loginFailed(from peer: SocketAddress) {
        throttle.recordFailure(from: peer.bytes, now: reactor.now)
    }

    func loginSucceeded(from peer: SocketAddress) {
        throttle.recordSuccess(from: peer.bytes)
    }

    /// Reads the target's credential and finds or builds its TLS client
    /// context off the loop; `completion` runs on the loop.
    /// Access tokens for accounts with an oauth2 table.
    var oauth2: OAuth2TokenService?

    func prepare(_ target: IMAPUpstreamTarget,
                 completion: @escaping (Result<IMAPPreparedUpstream, IMAPTargetError>) -> Void) {
        guard let oauth2 else { return prepare(target, token: nil, completion: completion) }
        oauth2.tokenIfNeeded(for: target) { [weak self] result in
            switch result {
            case .success(let token):
                self?.prepare(target, token: token, completion: completion)
            case .failure(let error):
                completion(.failure(IMAPTargetError("account \(target.accountName): OAuth2: \(error)")))
            }
        }
    }

    /// Answers at once, without a thread hop, when nothing needs reading: a credential read
    /// within `preparedLifetime`, or an OAuth2 token with the TLS context already built.
    private func prepare(_ target: IMAPUpstreamTarget, token: String?,
                         completion: @escaping (Result<IMAPPreparedUpstream, IMAPTargetError>) -> Void) {
        let key = target.caFile ?? ""
        let cached = clientContexts[key]
        let contextReady = cached != nil || target.security == .none
        if let token, contextReady {
            return completion(.success(IMAPPreparedUpstream(credential: .oauth2Token(token), tlsContext: cached)))
        }
        if token == nil, contextReady, let entry = prepared[target.accountName],
           Duration.nanoseconds(Int64(clamping: reactor.now &- entry.readAt)) < Limits.preparedLifetime {
            return completion(.success(entry.upstream))
        }
        reactor.offload({ target.prepare(cachedContext: cached, oauth2Token: token) }) { [weak self] result in
            guard let self else { return completion(result) }
            if case .success(let upstream) = result {
                if let context = upstream.tlsContext, cached == nil { self.clientContexts[key] = context }
                if token == nil { self.prepared[target.accountName] = (upstream, self.reactor.now) }
            }
            completion(result)
        }
    }
}
