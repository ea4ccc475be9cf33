// One IMAP proxy connection. Before login it drives the pure
// IMAPPreLoginSession (greeting, STARTTLS, ID, LOGIN / AUTHENTICATE PLAIN),
// checks the gateway password off the loop, logs in to the user's upstream
// account on a ready connection from the IMAPUpstreamPool or a new one
// (IMAPUpstreamDialer), and then hands both connections to an IMAPRelay.
// While the machine awaits an event the client is not read (except during a
// TLS handshake). Timers: pre-login idle and login deadline; once relaying,
// an inactivity timer of [imap] idle_timeout (no bytes either way).
import Logging
import IMAPProtocol
import Reactor
import TLS

final class IMAPProxySession: DrainableSession {
    let connection: Connection
    private unowned let service: IMAPProxyService
    private var machine: IMAPPreLoginSession
    private let startedAt: UInt64
    private var lastActivity: UInt64
    private var idleTimer: TimerID?
    private var deadlineTimer: TimerID?
    private var loginDelayTimer: TimerID?
    private var greeted = false
    private var handshaking = false
    private var draining = false
    /// `* BYE` for the drain is queued: no login may proceed any more.
    private var saidGoodbye = false
    private var ended = false
    private var dialer: IMAPUpstreamDialer?
    private var upstreamTarget: IMAPUpstreamTarget?
    /// How the upstream login was reached, for the audit line: "ready" (from the pool) or "new".
    private var upstreamConnection: String?
    /// When the login in flight began, its password was checked, and its upstream was prepared (reactor.now).
    private var loginStartedAt: UInt64?
    private var verifiedAt: UInt64?
    private var preparedAt: UInt64?
    private var pendingServerBytes: [UInt8] = []
    /// Why our check refused the login in flight, for its audit line.
    private var failureReason: String?
    private var upstream: Connection?
    private var tlsLayer: TLSStreamLayer?
    private(set) var relay: IMAPRelay?
    private(set) var logger: Logger

    init(connection: Connection, service: IMAPProxyService, policy: IMAPPreLoginPolicy, logger: Logger) {
        self.connection = connection
        self.service = service
        self.machine = IMAPPreLoginSession(policy: policy)
        self.startedAt = service.reactor.now
        self.lastActivity = startedAt
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(connection.peer.host)"
    }

    func start() {
        connection.onBytes = { [unowned self] bytes in self.received(bytes) }
        connection.onSecured = { [unowned self] in self.secured() }
        connection.onClosed = { [unowned self] reason in self.clientClosed(reason) }
        deadlineTimer = service.reactor.schedule(after: IMAPProxyService.Limits.loginDeadline) { [unowned self] in
            self.deadlineTimer = nil
            self.timedOut(.loginDeadline)
        }
        armIdleTimer(after: IMAPProxyService.Limits.preLoginIdle)
        if machine.policy.implicitTLS {
            startTLS()
        } else {
            greeted = true
            perform(machine.start())
        }
    }

    // MARK: Client events before the relay

    private func received(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = service.reactor.now
        perform(machine.receive(bytes))
    }

    private func secured() {
        handshaking = false
        if let version = tlsLayer?.session.protocolVersion { logger[metadataKey: "tls"] = "\(version)" }
        if !greeted {
            greeted = true
            perform(machine.start())
        } else {
            perform(machine.tlsEstablished())
        }
    }

    private func clientClosed(_ reason: CloseReason) {
        if case .layerFailed(let why) = reason { logger.info("TLS failed", metadata: ["error": "\(why)"]) }
        dialer?.cancel()
        dialer = nil
        if let upstream {
            upstream.onClosed = nil
            upstream.close()
        }
        upstream = nil
        finish(reason: machine.isClosed ? nil : "client closed")
    }

    private func timedOut(_ kind: IMAPPreLoginTimeout) {
        guard !connection.isClosed, relay == nil else { return }
        // Before the implicit-TLS greeting, or during any handshake, a plaintext BYE would corrupt the stream.
        if !greeted || handshaking {
            logger.info("closing", metadata: ["reason": "TLS handshake timeout"])
            return connection.close()
        }
        perform(machine.timeout(kind))
    }

    // MARK: Machine actions

    private func perform(_ actions: [IMAPPreLoginAction]) {
        for action in actions {
            guard !connection.isClosed, relay == nil else { return }
            switch action {
            case .send(let bytes):
                connection.write(bytes)
            case .startTLS:
                startTLS()
            case .verifyCredentials(let request):
                verify(request)
            case .connectUpstream(let user):
                connectUpstream(user: user)
            case .startRelay(let pendingClientBytes):
                startRelay(pendingClientBytes: pendingClientBytes)
            case .close:
                connection.closeAfterFlush()
            case .log(let event):
                log(event)
            }
        }
        guard relay == nil, !connection.isClosed else { return }
        if machine.isAwaitingEvent && !handshaking {
            connection.pauseReading()
        } else {
            connection.resumeReading()
            if draining { sayGoodbye() }
        }
    }

    private func startTLS() {
        handshaking = true
        tlsLayer = TLSStreamLayer.startServer(on: connection, context: service.tlsContext(), logger: logger)
    }

    // MARK: Gateway login

    private func verify(_ request: IMAPLoginRequest) {
        loginStartedAt = service.reactor.now
        verifiedAt = nil
        preparedAt = nil
        upstreamConnection = nil
        let delay = service.loginDelay(for: connection.peer)
        let check = { [unowned self] in
            self.loginDelayTimer = nil
            let users = self.service.users
            let password = Array(request.password.utf8)
            if users.cachedVerification(user: request.user, password: password) == true {
                // Verified a moment ago: no thread hop, only a turn of the loop (we are inside perform()).
                self.service.reactor.schedule(after: .zero) { [weak self] in self?.credentialsChecked(request, valid: true) }
                return
            }
            self.service.reactor.offload({ users.verify(user: request.user, password: password) }) { [weak self] valid in
                self?.credentialsChecked(request, valid: valid)
            }
        }
        if delay == .zero {
            check()
        } else {
            loginDelayTimer = service.reactor.schedule(after: delay, check)
        }
    }

    private func credentialsChecked(_ request: IMAPLoginRequest, valid: Bool) {
        guard !connection.isClosed, !saidGoodbye else { return }
        verifiedAt = service.reactor.now
        guard valid else {
            service.loginFailed(from: connection.peer)
            failureReason = "bad credentials"
            return perform(machine.credentialsVerified(.rejected))
        }
        switch IMAPUpstreamTarget.find(userName: request.user, in: service.config) {
        case .success(let target):
            service.loginSucceeded(from: connection.peer)
            upstreamTarget = target
            perform(machine.credentialsVerified(.accepted(user: request.user)))
        case .failure(let error):
            // Indistinguishable from a wrong password for the client; the log says why.
            service.loginFailed(from: connection.peer)
            failureReason = error.description
            perform(machine.credentialsVerified(.rejected))
        }
    }

    // MARK: Upstream

    private func connectUpstream(user: String) {
        guard let target = upstreamTarget else {
            return perform(machine.upstreamLoginFinished(.failed(.unavailable("no upstream target"))))
        }
        logger[metadataKey: "user"] = "\(user)"
        logger[metadataKey: "account"] = "\(target.accountName)"
        prepareAndDial(target, refreshed: false)
    }

    /// Reads the account's credential (refreshed: after an OAuth2 token was refused) and logs in upstream.
    private func prepareAndDial(_ target: IMAPUpstreamTarget, refreshed: Bool) {
        service.prepare(target) { [weak self] result in
            guard let self, !self.connection.isClosed, !self.saidGoodbye else { return }
            switch result {
            case .failure(let error):
                self.perform(self.machine.upstreamLoginFinished(.failed(.unavailable(error.description))))
            case .success(let prepared):
                if !refreshed { self.preparedAt = self.service.reactor.now }
                self.dial(target, prepared, refreshed: refreshed)
            }
        }
    }

    /// Logs in upstream: on a ready connection when the pool has one, else on a new one.
    private func dial(_ target: IMAPUpstreamTarget, _ prepared: IMAPPreparedUpstream, refreshed: Bool) {
        guard let ready = service.upstreamPool.take(target.endpoint) else {
            return dialNew(target, prepared, refreshed: refreshed)
        }
        dialer = ready
        upstreamConnection = "ready"
        ready.logIn(target.account(prepared, client: connection.peer),
                    timeout: IMAPProxyService.Limits.upstreamLoginTimeout) { [unowned self] outcome in
            self.retireDialer()
            // Most likely the server dropped the ready connection meanwhile: once
            // more on a new one, as if the pool had been empty.
            if case .failed(.unavailable) = outcome { return self.dialNew(target, prepared, refreshed: refreshed) }
            self.loginAnswered(outcome, target, prepared, refreshed: refreshed)
        }
    }

    private func dialNew(_ target: IMAPUpstreamTarget, _ prepared: IMAPPreparedUpstream, refreshed: Bool) {
        let dialer = IMAPUpstreamDialer(reactor: service.reactor, endpoint: target.endpoint, tlsContext: prepared.tlsContext,
                                        connectTimeout: IMAPProxyService.Limits.upstreamConnectTimeout)
        self.dialer = dialer
        upstreamConnection = "new"
        dialer.dial(target.account(prepared, client: connection.peer),
                    timeout: IMAPProxyService.Limits.upstreamLoginTimeout) { [unowned self] outcome in
            self.retireDialer()
            self.loginAnswered(outcome, target, prepared, refreshed: refreshed)
        }
    }

    private func loginAnswered(_ outcome: IMAPUpstreamDialer.Outcome, _ target: IMAPUpstreamTarget,
                               _ prepared: IMAPPreparedUpstream, refreshed: Bool) {
        // A refused OAuth2 token: one refresh and one more login before the client hears of it.
        guard !refreshed, case .failed(.authenticationRejected) = outcome, case .oauth2Token(let token) = prepared.credential,
              service.oauth2?.rejected(account: target.accountName, token: token) == true else {
            return dialed(outcome, target, prepared)
        }
        prepareAndDial(target, refreshed: true)
    }

    /// Called inside the dialer's own completion: keeps it alive until the loop is out of it.
    private func retireDialer() {
        let finished = dialer
        dialer = nil
        service.reactor.schedule(after: .zero) { _ = finished }
    }

    private func dialed(_ outcome: IMAPUpstreamDialer.Outcome, _ target: IMAPUpstreamTarget,
                        _ prepared: IMAPPreparedUpstream) {
        switch outcome {
        case .loggedIn(let upstream, let capabilities, let pending):
            service.upstreamPool.loggedIn(through: target.endpoint, tlsContext: prepared.tlsContext)
            guard !connection.isClosed, !saidGoodbye else { return upstream.close() }
            self.upstream = upstream
            upstream.pauseReading()
            upstream.onClosed = { [unowned self] _ in self.upstreamLostBeforeRelay() }
            pendingServerBytes = pending
            perform(machine.upstreamLoginFinished(.loggedIn(capabilities: capabilities)))
        case .failed(let failure):
            perform(machine.upstreamLoginFinished(.failed(failure)))
        }
    }

    /// The upstream went away between its login and the relay's start (the
    /// machine then was not in a state to relay): nothing to do but let the
    /// client finish; the relay is never started.
    private func upstreamLostBeforeRelay() {
        upstream = nil
    }

    private func startRelay(pendingClientBytes: [UInt8]) {
        guard let upstream else {
            logger.warning("closing", metadata: ["reason": "upstream lost before the relay started"])
            return connection.closeAfterFlush()
        }
        cancelTimers()
        let relay = IMAPRelay(client: connection, upstream: upstream, reactor: service.reactor)
        self.relay = relay
        self.upstream = nil
        let serverBytes = pendingServerBytes
        pendingServerBytes = []
        relay.start(pendingClientBytes: pendingClientBytes, pendingServerBytes: serverBytes) { [unowned self] in
            self.finish(reason: self.relay?.endReason)
        }
        armRelayIdleTimer(after: service.relayIdleTimeout)
    }

    // MARK: Timers

    private func armIdleTimer(after delay: Duration) {
        idleTimer = service.reactor.schedule(after: delay) { [unowned self] in
            self.idleTimer = nil
            let idle = IMAPProxyService.Limits.preLoginIdle
            let remaining = self.remaining(of: idle)
            // Our own password check or upstream dial is not the client idling.
            if self.machine.isAwaitingEvent || remaining > .zero {
                return self.armIdleTimer(after: self.machine.isAwaitingEvent ? idle : remaining)
            }
            self.timedOut(.idle)
        }
    }

    private func armRelayIdleTimer(after delay: Duration) {
        idleTimer = service.reactor.schedule(after: delay) { [unowned self] in
            self.idleTimer = nil
            guard let relay = self.relay, !relay.isFinished else { return }
            self.lastActivity = relay.lastActivity
            let remaining = self.remaining(of: self.service.relayIdleTimeout)
            if remaining > .zero { return self.armRelayIdleTimer(after: remaining) }
            relay.abort(reason: "idle timeout")
        }
    }

    private func remaining(of timeout: Duration) -> Duration {
        let quiet = Duration.nanoseconds(Int64(clamping: service.reactor.now &- lastActivity))
        return quiet >= timeout ? .zero : timeout - quiet
    }

    private func cancelTimers() {
        for timer in [idleTimer, deadlineTimer, loginDelayTimer].compactMap({ $0 }) { service.reactor.cancel(timer) }
        idleTimer = nil
        deadlineTimer = nil
        loginDelayTimer = nil
    }

    // MARK: Drain and end

    /// Before login: `* BYE` now (or close, mid-handshake). Relaying: keep
    /// going until the registry's drain deadline, since a BYE could land in
    /// the middle of an upstream literal and we do not parse the stream.
    func drain() {
        draining = true
        guard relay == nil else { return }
        if !greeted || handshaking {
            return connection.close()
        }
        sayGoodbye()
    }

    func abort() {
        if let relay {
            relay.abort(reason: "server shutting down")
        } else {
            connection.close()
        }
    }

    private func sayGoodbye() {
        guard !connection.isClosed, relay == nil, !saidGoodbye else { return }
        saidGoodbye = true
        dialer?.cancel()
        dialer = nil
        logger.info("closing", metadata: ["reason": "server shutting down"])
        connection.write(Array("* BYE Server shutting down\r\n".utf8))
        connection.closeAfterFlush()
    }

    private func finish(reason: String?) {
        guard !ended else { return }
        ended = true
        cancelTimers()
        var metadata: Logger.Metadata = [
            "duration": "\(Self.seconds(service.reactor.now &- startedAt))",
            "bytes_from_client": "\(relay?.bytesFromClient ?? 0)",
            "bytes_to_client": "\(relay?.bytesToClient ?? 0)",
        ]
        if let reason { metadata["reason"] = "\(reason)" }
        if relay != nil || machine.loggedInUser != nil {
            logger.info("session ended", metadata: metadata)
        }
        service.sessionEnded(self)
    }

    /// Milliseconds spent checking the password (with any throttle delay),
    /// preparing the upstream, and logging in there: "0.4/0.1/5.2", like
    /// Postfix's delays=. Steps not reached are left out.
    private func loginDelays() -> String? {
        guard let start = loginStartedAt else { return nil }
        let now = service.reactor.now
        let marks = [verifiedAt, preparedAt].compactMap { $0 } + [now]
        var previous = start
        var parts: [String] = []
        for mark in marks {
            let tenths = (mark &- previous) / 100_000
            parts.append("\(tenths / 10).\(tenths % 10)")
            previous = mark
        }
        return parts.joined(separator: "/")
    }

    private static func seconds(_ nanoseconds: UInt64) -> String {
        let milliseconds = nanoseconds / 1_000_000
        let fraction = milliseconds % 1000
        let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(milliseconds / 1000).\(padded)s"
    }

    // MARK: Logs

    /// The audit line of one login attempt.
    private func audit(user: String, mechanism: IMAPLoginMechanism?, result: String, reason: String?) {
        var metadata: Logger.Metadata = ["user": "\(user)", "result": "\(result)"]
        if let account = upstreamTarget?.accountName { metadata["account"] = "\(account)" }
        if let upstreamConnection { metadata["upstream"] = "\(upstreamConnection)" }
        if let mechanism { metadata["mechanism"] = "\(mechanism.rawValue)" }
        if let reason { metadata["reason"] = "\(reason)" }
        if let delays = loginDelays() { metadata["delays"] = "\(delays)" }
        logger.info("login", metadata: metadata)
        MailgateMetrics.imapLogin(result: result, upstream: upstreamConnection)
    }

    private func log(_ event: IMAPPreLoginLogEvent) {
        switch event {
        case .refused(let reason, let response):
            logger.info("refused", metadata: ["reason": "\(reason)", "response": "\(response)"])
        case .discardedAfterSTARTTLS:
            logger.warning("discarded input pipelined after STARTTLS")
        case .clientID(let parameters):
            let text = parameters.map { "\($0.name)=\($0.value ?? "NIL")" }.joined(separator: " ")
            logger.info("client id", metadata: ["id": "\(text)"])
        case .loginSucceeded(let user, let mechanism):
            audit(user: user, mechanism: mechanism, result: "ok", reason: nil)
        case .loginFailed(let user, let mechanism):
            // Without a reason from our check, the machine refused the credentials' form itself.
            audit(user: user, mechanism: mechanism, result: "failed", reason: failureReason ?? "malformed credentials")
            failureReason = nil
        case .upstreamLoginFailed(let user, let failure):
            audit(user: user, mechanism: nil, result: "unavailable", reason: "upstream " + Self.describe(failure))
        case .closing(let reason):
            logger.info("closing", metadata: ["reason": "\(reason)"])
        }
    }

    private static func describe(_ failure: IMAPUpstreamLoginFailure) -> String {
        switch failure {
        case .authenticationRejected(let text): "account credentials rejected: \(text)"
        case .unavailable(let text): "unavailable: \(text)"
        case .protocolError(let text): "protocol error: \(text)"
        }
    }
}
