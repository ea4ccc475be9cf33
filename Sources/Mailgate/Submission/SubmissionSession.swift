// One submission or inbound connection: the pure SMTPServerSession driven by
// the reactor. It executes the machine's actions in order (write, STARTTLS, SASL
// steps on the SASL thread, commit through the queue writer, inbound messages
// through ingestion) and answers each awaited
// action with its event. While the machine waits for an event the socket is
// not read, so a pipelining client cannot make us hold more than the kernel's
// buffer. Timers: idle (re-armed lazily from the last activity, so a busy
// session costs no timer churn) and total session time.
import Logging
import MailCore
import Reactor
import SMTPProtocol
import TLS

final class SubmissionSession: DrainableSession {
    let connection: Connection
    private unowned let service: SubmissionService
    private var machine: SMTPServerSession
    private let implicitTLS: Bool
    /// Runs the machine's inbound mode (the [inbound] listener).
    let isInbound: Bool
    private var tls: TLSStreamLayer?
    private var saslSession: UInt64?
    private var lastActivity: UInt64
    private var idleTimer: TimerID?
    private var sessionTimer: TimerID?
    private var authDelayTimer: TimerID?
    private var draining = false
    private var machineGreeted = false
    private var handshaking = false
    private(set) var logger: Logger

    init(connection: Connection, service: SubmissionService, policy: SMTPServerPolicy, logger: Logger) {
        self.connection = connection
        self.service = service
        self.machine = SMTPServerSession(policy: policy)
        self.implicitTLS = policy.implicitTLS
        self.isInbound = policy.inbound != nil
        self.lastActivity = service.reactor.now
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(connection.peer.host)"
    }

    func start() {
        connection.onBytes = { [unowned self] bytes in self.received(bytes) }
        connection.onSecured = { [unowned self] in self.secured() }
        connection.onClosed = { [unowned self] reason in self.closed(reason) }
        sessionTimer = service.reactor.schedule(after: service.settings.sessionTimeout) { [unowned self] in
            self.sessionTimer = nil
            self.perform(self.machine.timeout(.session))
        }
        armIdleTimer(after: service.settings.idleTimeout)
        if implicitTLS {
            startTLS()
        } else {
            perform(machine.start())
        }
    }

    // MARK: Connection events

    private func received(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = service.reactor.now
        perform(machine.receive(bytes))
    }

    private func secured() {
        handshaking = false
        if let tls {
            logger[metadataKey: "tls"] = "\(tls.session.protocolVersion ?? "TLS")"
        }
        if implicitTLS && !machineGreeted {
            machineGreeted = true
            perform(machine.start())
        } else {
            perform(machine.tlsEstablished())
        }
    }

    private func closed(_ reason: CloseReason) {
        for timer in [idleTimer, sessionTimer, authDelayTimer].compactMap({ $0 }) { service.reactor.cancel(timer) }
        idleTimer = nil
        sessionTimer = nil
        authDelayTimer = nil
        if let saslSession { service.sasl.end(session: saslSession) }
        saslSession = nil
        if case .layerFailed(let why) = reason {
            logger.info("TLS failed", metadata: ["error": "\(why)"])
        }
        service.sessionEnded(self)
    }

    // MARK: Actions

    private func perform(_ actions: [SMTPAction]) {
        for action in actions {
            guard !connection.isClosed else { return }
            switch action {
            case .send(let bytes):
                connection.write(bytes)
            case .startTLS:
                startTLS()
            case .authenticate(let mechanism, let initialResponse):
                authenticate(mechanism: mechanism, initialResponse: initialResponse)
            case .authenticationResponse(let response):
                guard let saslSession else { continue }
                service.sasl.step(session: saslSession, response: response, reply: service.authReplies(for: self))
            case .authenticationCancelled:
                if let saslSession { service.sasl.end(session: saslSession) }
                saslSession = nil
            case .commit(let envelope, let message):
                commit(envelope, message)
            case .deliver(let envelope, let message):
                deliver(envelope, message)
            case .close:
                connection.closeAfterFlush()
            case .log(let event):
                log(event)
            }
        }
        // The handshake after STARTTLS is the one wait that needs the socket read.
        if machine.isAwaitingEvent && !handshaking {
            connection.pauseReading()
        } else if !connection.isClosed {
            connection.resumeReading()
            if draining && !machine.isReceivingMessage { sayGoodbye() }
        }
    }

    private func startTLS() {
        handshaking = true
        tls = TLSStreamLayer.startServer(on: connection, context: service.tlsContext(), logger: logger)
    }

    // MARK: AUTH

    private func authenticate(mechanism: SMTPAuthMechanism, initialResponse: [UInt8]?) {
        let delay = service.authDelay(for: connection.peer)
        let begin = { [unowned self] in
            self.authDelayTimer = nil
            let id = self.service.sasl.makeSessionID()
            self.saslSession = id
            self.service.sasl.start(session: id, mechanism: mechanism.rawValue, initialResponse: initialResponse,
                                    secure: self.connection.isSecured, reply: self.service.authReplies(for: self))
        }
        if delay == .zero {
            begin()
        } else {
            authDelayTimer = service.reactor.schedule(after: delay, begin)
        }
    }

    /// The SASL thread's answer, delivered on the loop.
    func authenticationStep(_ step: SubmissionAuthStep) {
        guard !connection.isClosed else { return }
        switch step {
        case .challenge(let bytes):
            perform(machine.authenticationFinished(.challenge(bytes)))
        case .success(let user):
            endSASL()
            service.authSucceeded(from: connection.peer)
            perform(machine.authenticationFinished(.success(user: user)))
        case .failure(let reason):
            endSASL()
            logger.info("login failed", metadata: ["reason": "\(reason)"])
            let tooMany = service.authFailed(from: connection.peer)
            perform(machine.authenticationFinished(.failure))
            if tooMany && !connection.isClosed {
                log(.closing(reason: "too many failed logins"))
                connection.write(Array("421 4.7.0 Too many failed login attempts, closing connection\r\n".utf8))
                connection.closeAfterFlush()
            }
        }
    }

    private func endSASL() {
        if let saslSession { service.sasl.end(session: saslSession) }
        saslSession = nil
    }

    // MARK: Commit

    private func commit(_ envelope: SMTPEnvelope, _ message: [UInt8]) {
        let queueID = QueueWriter.makeQueueID()
        var random = SystemRandomNumberGenerator()
        let context = ReceivedContext(clientAddress: connection.peer.host, tlsVersion: tls?.session.protocolVersion,
                                      tlsCipher: tls?.session.cipherName)
        let prepared = MessagePreparer.prepare(message, envelope: envelope, context: context,
                                               hostname: machine.policy.hostname, queueID: queueID,
                                               date: machine.policy.clock(), random: &random)
        let submission = Submission(queueID: queueID, envelope: envelope, message: prepared,
                                    clientAddress: connection.peer.host)
        service.queue.enqueue(submission) { [weak self] result in
            guard let self, !self.connection.isClosed else { return }
            self.lastActivity = self.service.reactor.now
            switch result {
            case .success:
                self.logger.info("message accepted", metadata: [
                    "queue_id": "\(queueID)", "user": "\(envelope.user.name)", "size": "\(prepared.bytes.count)",
                    "recipients": "\(envelope.recipients.count)", "priority": "\(prepared.priority)",
                ])
                MailgateMetrics.messageAccepted(priority: prepared.priority)
                self.perform(self.machine.messageCommitted(queueID: queueID))
            case .failure(let error):
                self.perform(self.machine.messageCommitFailed("\(error)"))
            }
        }
    }

    /// An inbound message: ingested (threads, bounces, suppression) before the 250.
    private func deliver(_ envelope: SMTPInboundEnvelope, _ message: [UInt8]) {
        guard let inbound = service.inbound else { return perform(machine.messageCommitFailed("no ingestion")) }
        let id = QueueWriter.makeQueueID()
        let context = ReceivedContext(clientAddress: connection.peer.host, tlsVersion: tls?.session.protocolVersion,
                                      tlsCipher: tls?.session.cipherName)
        let received = MessagePreparer.receivedHeader(inbound: envelope, context: context,
                                                      hostname: machine.policy.hostname, id: id,
                                                      date: machine.policy.clock())
        inbound.deliver(Array(received.utf8) + message, envelope: envelope, id: id, logger: logger) { [weak self] result in
            guard let self, !self.connection.isClosed else { return }
            self.lastActivity = self.service.reactor.now
            switch result {
            case .success: self.perform(self.machine.messageCommitted(queueID: id))
            case .failure(let error): self.perform(self.machine.messageCommitFailed("\(error)"))
            }
        }
    }

    // MARK: Timers

    private func armIdleTimer(after delay: Duration) {
        idleTimer = service.reactor.schedule(after: delay) { [unowned self] in self.idleTimerFired() }
    }

    private func idleTimerFired() {
        idleTimer = nil
        let idle = service.settings.idleTimeout
        let idleNanoseconds = UInt64(idle.components.seconds) * 1_000_000_000
        let quiet = service.reactor.now &- lastActivity
        // Waiting for our own commit, SASL thread or TLS peer is not the client idling.
        if machine.isAwaitingEvent || quiet < idleNanoseconds {
            let remaining = machine.isAwaitingEvent ? idle : .nanoseconds(Int64(idleNanoseconds - quiet))
            return armIdleTimer(after: remaining)
        }
        perform(machine.timeout(.idle))
    }

    // MARK: Drain

    func drain() {
        draining = true
        if !machine.isAwaitingEvent && !machine.isReceivingMessage { sayGoodbye() }
    }

    func abort() { connection.close() }

    private func sayGoodbye() {
        guard !connection.isClosed else { return }
        log(.closing(reason: "server shutting down"))
        connection.write(Array("421 4.3.2 \(machine.policy.hostname) Service shutting down, closing connection\r\n".utf8))
        connection.closeAfterFlush()
    }

    // MARK: Logs

    private func log(_ event: SMTPLogEvent) {
        switch event {
        case .refused(let reason, let reply):
            logger.info("refused", metadata: ["reason": "\(reason)", "reply": "\(reply.code) \(reply.enhanced ?? "")"])
            MailgateMetrics.refused(reply)
        case .discardedAfterSTARTTLS:
            logger.warning("discarded input pipelined after STARTTLS")
        case .authenticated(let user, let mechanism):
            logger[metadataKey: "user"] = "\(user)"
            logger.info("authenticated", metadata: ["mechanism": "\(mechanism.rawValue)"])
        case .authenticationFailed(let mechanism):
            logger.info("authentication failed", metadata: ["mechanism": "\(mechanism.rawValue)"])
        case .commitFailed(let reason):
            logger.error("commit failed", metadata: ["reason": "\(reason)"])
            MailgateMetrics.refused(.queueUnavailable, code: 451)
        case .closing(let reason):
            logger.info("closing", metadata: ["reason": "\(reason)"])
        }
    }
}
