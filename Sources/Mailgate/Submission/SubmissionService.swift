// The submission service: what every submission session shares. It turns the
// config into per-connection policies (trusted networks, limits, users), caps
// connections per client address, throttles failed logins per address, routes
// SASL answers from the SASL thread back to their session, and hands accepted
// messages to the queue writer. The inbound listener runs the same sessions in
// the machine's inbound mode (no AUTH, recipients only at [inbound] domains,
// [submission] limits) and hands its messages to `inbound` (ingestion) instead.
// `reload` swaps in a new config; sessions already open keep their policy.
import Auth
import Config
import Glibc
import Logging
import MailCore
import Reactor
import SMTPProtocol
import TLS

/// The session-facing answer of one SASL step, with the user resolved from the config.
enum SubmissionAuthStep: Sendable {
    case challenge([UInt8])
    case success(SMTPUserIdentity)
    case failure(String)
}

final class SubmissionService {
    struct Settings {
        var idleTimeout: Duration
        var sessionTimeout: Duration
        var maxConnectionsPerAddress: Int
    }

    let reactor: Reactor
    let sasl: SASLServer
    let queue: QueueWriter
    /// Where the inbound listener's messages go; nil when no inbound listener is served.
    var inbound: InboundDelivery?
    /// The certificate new TLS sessions use (swapped on reload); nil when none is configured.
    var tlsContext: () -> TLSServerContext? = { nil }
    private let registry: SessionRegistry
    private let logger = Logger(label: "submission")
    private let inboundLogger = Logger(label: "inbound")
    private var config: MailgateConfig
    private(set) var settings: Settings
    private var users: [String: SMTPUserIdentity] = [:]
    private var throttle: AuthThrottle
    private var connectionsPerAddress: [[UInt8]: Int] = [:]
    private var sessions: [UInt64: SubmissionSession] = [:]
    private var keys: [ObjectIdentifier: UInt64] = [:]
    private var nextKey: UInt64 = 1
    private var refusing: [ObjectIdentifier: Connection] = [:]
    private var authChannel: LoopChannel<(UInt64, SASLStep)>?

    init(reactor: Reactor, config: MailgateConfig, sasl: SASLServer, queue: QueueWriter,
         registry: SessionRegistry) {
        self.reactor = reactor
        self.config = config
        self.sasl = sasl
        self.queue = queue
        self.registry = registry
        self.settings = Self.settings(config)
        self.throttle = AuthThrottle(baseDelay: config.submission.authFailureDelay,
                                     maxFailures: config.submission.maxAuthFailures)
        self.users = Self.identities(config)
        authChannel = reactor.channel { [unowned self] (message: (UInt64, SASLStep)) in
            self.deliver(message.1, to: message.0)
        }
    }

    func reload(_ newConfig: MailgateConfig) {
        config = newConfig
        settings = Self.settings(newConfig)
        users = Self.identities(newConfig)
        throttle.baseDelay = newConfig.submission.authFailureDelay
        throttle.maxFailures = newConfig.submission.maxAuthFailures
    }

    private static func settings(_ config: MailgateConfig) -> Settings {
        Settings(idleTimeout: config.submission.idleTimeout, sessionTimeout: config.submission.sessionTimeout,
                 maxConnectionsPerAddress: config.submission.maxConnectionsPerIP)
    }

    private static func identities(_ config: MailgateConfig) -> [String: SMTPUserIdentity] {
        var identities: [String: SMTPUserIdentity] = [:]
        for user in config.users {
            identities[user.name] = SMTPUserIdentity(name: user.name, sendAs: user.sendAs,
                                                     defaultPriority: user.priority, maxPriority: user.maxPriority)
        }
        return identities
    }

    // MARK: Connections

    func accept(_ connection: Connection, implicitTLS: Bool) {
        open(connection, policy: policy(for: connection.peer, implicitTLS: implicitTLS), kind: .submission)
    }

    /// A connection to the inbound (port 25) listener.
    func acceptInbound(_ connection: Connection) {
        var policy = policy(for: connection.peer, implicitTLS: false)
        policy.trustedUser = nil
        policy.authMechanisms = []
        policy.inbound = SMTPInboundPolicy(domains: config.inbound.domains)
        open(connection, policy: policy, kind: .inbound)
    }

    private func open(_ connection: Connection, policy: SMTPServerPolicy, kind: SessionProtocol) {
        let logger = kind == .inbound ? inboundLogger : self.logger
        let address = connection.peer.bytes
        let open = connectionsPerAddress[address, default: 0]
        guard open < settings.maxConnectionsPerAddress else {
            logger.warning("refused", metadata: ["client": "\(connection.peer.host)",
                                                 "reason": "too many connections from this address",
                                                 "reply": "421 4.7.0"])
            MailgateMetrics.refused(.tooManyConnections, code: 421)
            refuse(connection, with: "421 4.7.0 \(config.server.hostname) Too many connections from your address")
            return
        }
        connectionsPerAddress[address] = open + 1
        let session = SubmissionSession(connection: connection, service: self, policy: policy, logger: logger)
        let key = nextKey
        nextKey += 1
        sessions[key] = session
        keys[ObjectIdentifier(session)] = key
        registry.add(session)
        MailgateMetrics.sessionOpened(kind)
        session.start()
    }

    /// Says `reply` and closes, keeping the connection alive until its reply is flushed.
    private func refuse(_ connection: Connection, with reply: String) {
        let id = ObjectIdentifier(connection)
        refusing[id] = connection
        connection.onClosed = { [unowned self] _ in self.refusing[id] = nil }
        connection.write(Array("\(reply)\r\n".utf8))
        connection.closeAfterFlush()
    }

    func sessionEnded(_ session: SubmissionSession) {
        if let key = keys.removeValue(forKey: ObjectIdentifier(session)) {
            sessions[key] = nil
            MailgateMetrics.sessionClosed(session.isInbound ? .inbound : .submission)
        }
        let address = session.connection.peer.bytes
        if let open = connectionsPerAddress[address] {
            connectionsPerAddress[address] = open > 1 ? open - 1 : nil
        }
        registry.remove(session)
    }

    private func policy(for peer: SocketAddress, implicitTLS: Bool) -> SMTPServerPolicy {
        let submission = config.submission
        var trustedUser: SMTPUserIdentity?
        if let name = submission.trustedUser, submission.trustedNetworks.contains(where: { $0.contains(peer.bytes) }) {
            trustedUser = users[name]
        }
        return SMTPServerPolicy(hostname: config.server.hostname,
                                maxMessageSize: submission.maxMessageSize.bytes,
                                maxRecipients: submission.maxRecipients,
                                maxLineLength: submission.maxLineLength,
                                maxJunkCommands: submission.maxJunkCommands,
                                implicitTLS: implicitTLS,
                                tlsAvailable: tlsContext() != nil,
                                trustedUser: trustedUser,
                                clock: { Int64(time(nil)) })
    }

    // MARK: Authentication

    func authDelay(for peer: SocketAddress) -> Duration {
        throttle.delay(for: peer.bytes, now: reactor.now)
    }

    /// Returns true when the address has failed too often and its session must end.
    func authFailed(from peer: SocketAddress) -> Bool {
        throttle.recordFailure(from: peer.bytes, now: reactor.now)
    }

    func authSucceeded(from peer: SocketAddress) {
        throttle.recordSuccess(from: peer.bytes)
    }

    /// A reply callback for the SASL thread that finds its way back to `session` on the loop.
    func authReplies(for session: SubmissionSession) -> SASLServer.Reply {
        guard let key = keys[ObjectIdentifier(session)], let channel = authChannel else { return { _ in } }
        return { step in channel.send((key, step)) }
    }

    private func deliver(_ step: SASLStep, to key: UInt64) {
        guard let session = sessions[key] else { return }
        switch step {
        case .challenge(let bytes):
            session.authenticationStep(.challenge(bytes))
        case .success(let name):
            // A user removed by a reload since the login began no longer exists.
            guard let identity = users[name] else { return session.authenticationStep(.failure("unknown user \(name)")) }
            session.authenticationStep(.success(identity))
        case .failure(let reason):
            session.authenticationStep(.failure(reason))
        }
    }
}
