// The IMAP proxy's pre-login phase as a pure state machine: bytes and events
// in, actions out. This file holds the state, the input loop and the event
// entry points; commands live in +Commands and +Auth.
// Contract: the driver runs actions in order and answers each awaited action
// with its event. Output is the same for any chunking of the input.

public struct IMAPPreLoginSession: Sendable {
    enum Mode: Hashable, Sendable {
        case commands
        /// AUTHENTICATE PLAIN sent "+ " and waits for the client's line.
        case authenticateResponse(tag: String)
        case awaitingTLS
        case awaitingCredentials(tag: String, user: String, mechanism: IMAPLoginMechanism)
        case awaitingUpstream(tag: String, user: String, mechanism: IMAPLoginMechanism)
        case relaying
        case closed
    }

    public let policy: IMAPPreLoginPolicy
    public internal(set) var tlsActive: Bool
    /// What the client said about itself with ID, if it sent ID.
    public internal(set) var clientID: [IMAPIDParameter]?
    /// The gateway user once logged in upstream.
    public internal(set) var loggedInUser: String?
    var mode: Mode = .commands
    var framer: IMAPCommandFramer
    var badCommands = 0
    var failedLogins = 0
    /// Bytes received while awaiting an event (bounded by maxPendingInput).
    var receivedWhileWaiting = 0
    var loggedDiscardAfterSTARTTLS = false

    public init(policy: IMAPPreLoginPolicy) {
        self.policy = policy
        self.tlsActive = policy.implicitTLS
        self.framer = IMAPCommandFramer(limits: policy.limits)
    }

    /// The capabilities advertised now (they change with TLS).
    public var capabilities: [String] { IMAPCapabilities.preLogin(tlsActive: tlsActive, limits: policy.limits) }

    /// True while an event is awaited: the driver may stop reading the socket.
    public var isAwaitingEvent: Bool {
        switch mode {
        case .awaitingTLS, .awaitingCredentials, .awaitingUpstream: true
        case .commands, .authenticateResponse, .relaying, .closed: false
        }
    }

    public var isClosed: Bool { mode == .closed }
    /// True once `.startRelay` was emitted: the session takes no more input.
    public var isRelaying: Bool { mode == .relaying }

    /// The greeting; call once when the connection (or implicit TLS) is up.
    public func start() -> [IMAPPreLoginAction] {
        let code = "CAPABILITY " + capabilities.joined(separator: " ")
        return [.send(IMAPWriter.status(nil, "OK", code: code, "mailgate ready"))]
    }

    // MARK: input

    public mutating func receive(_ bytes: some Collection<UInt8>) -> [IMAPPreLoginAction] {
        var actions: [IMAPPreLoginAction] = []
        switch mode {
        case .closed, .relaying:
            return []
        case .awaitingTLS:
            noteDiscardedAfterSTARTTLS(isEmpty: bytes.isEmpty, into: &actions)
        case .awaitingCredentials, .awaitingUpstream:
            receivedWhileWaiting += bytes.count
            guard receivedWhileWaiting <= policy.maxPendingInput else {
                close(reason: "too much pipelined input", bye: "Too much input while logging in", into: &actions)
                return actions
            }
            framer.append(bytes)
        case .commands, .authenticateResponse:
            framer.append(bytes)
            process(into: &actions)
        }
        return actions
    }

    /// Runs queued input until it is used up or an event must be awaited.
    mutating func process(into actions: inout [IMAPPreLoginAction]) {
        while true {
            switch mode {
            case .commands:
                switch framer.next() {
                case .needMoreBytes:
                    return
                case .literalContinuationNeeded:
                    actions.append(.send(IMAPWriter.continuation("Ready for literal data")))
                case .command(let command):
                    handle(command, into: &actions)
                case .failure(let failure):
                    framingFailed(failure, into: &actions)
                }
            case .authenticateResponse(let tag):
                switch framer.nextLine() {
                case .needMoreBytes:
                    return
                case .line(let line):
                    mode = .commands
                    handlePlainResponse(line, tag: tag, into: &actions)
                case .failure:
                    close(reason: "SASL response too long", bye: "SASL response too long", into: &actions)
                }
            case .awaitingTLS, .awaitingCredentials, .awaitingUpstream, .relaying, .closed:
                return
            }
        }
    }

    private mutating func framingFailed(_ failure: IMAPFramingFailure, into actions: inout [IMAPPreLoginAction]) {
        let text: String
        var code: String?
        switch failure.error {
        case .invalidTag: text = "Invalid tag"
        case .missingCommand: text = "Missing command"
        case .syntax(let reason): text = "Syntax error: " + reason
        case .lineTooLong: text = "Command line too long"
        case .literalTooLarge:
            text = "Literal too large"
            code = "TOOBIG"
        case .listTooDeep: text = "Lists nested too deeply"
        case .tooManyTokens: text = "Too many arguments"
        }
        guard failure.isFatal else {
            return bad(failure.tag, code: code, text, into: &actions)
        }
        if let tag = failure.tag, code != nil {
            actions.append(.send(IMAPWriter.status(tag, "BAD", code: code, text)))
        }
        close(reason: text, bye: text, into: &actions)
    }

    // MARK: events

    /// The TLS handshake after STARTTLS completed: commands start afresh with
    /// a new framer, so nothing sent before the handshake survives it.
    public mutating func tlsEstablished() -> [IMAPPreLoginAction] {
        guard mode == .awaitingTLS else { return [] }
        tlsActive = true
        framer = IMAPCommandFramer(limits: policy.limits)
        mode = .commands
        return []
    }

    public mutating func timeout(_ kind: IMAPPreLoginTimeout) -> [IMAPPreLoginAction] {
        var actions: [IMAPPreLoginAction] = []
        switch mode {
        case .closed, .relaying:
            return []
        case .awaitingTLS:
            // Mid-handshake a plaintext BYE would only corrupt the TLS stream.
            mode = .closed
            return [.log(.closing(reason: "TLS handshake timeout")), .close]
        case .commands, .authenticateResponse, .awaitingCredentials, .awaitingUpstream:
            switch kind {
            case .idle: close(reason: "idle timeout", bye: "Idle for too long, closing connection", into: &actions)
            case .loginDeadline: close(reason: "login deadline", bye: "Login took too long, closing connection", into: &actions)
            }
        }
        return actions
    }

    // MARK: shared helpers

    /// Resumes input held while an event was awaited.
    mutating func resume(into actions: inout [IMAPPreLoginAction]) {
        receivedWhileWaiting = 0
        process(into: &actions)
    }

    /// A tagged (or untagged, without tag) BAD that counts towards the limit.
    mutating func bad(_ tag: String?, code: String? = nil, _ text: String, into actions: inout [IMAPPreLoginAction]) {
        refuse(IMAPWriter.status(tag, "BAD", code: code, text), reason: text, into: &actions)
    }

    mutating func refuse(_ response: [UInt8], reason: String, into actions: inout [IMAPPreLoginAction]) {
        actions.append(.log(.refused(reason: reason, response: String(decoding: response.dropLast(2), as: UTF8.self))))
        actions.append(.send(response))
        badCommands += 1
        if badCommands > policy.maxBadCommands {
            close(reason: "too many invalid commands", bye: "Too many invalid commands", into: &actions)
        }
    }

    mutating func noteDiscardedAfterSTARTTLS(isEmpty: Bool, into actions: inout [IMAPPreLoginAction]) {
        guard !isEmpty, !loggedDiscardAfterSTARTTLS else { return }
        loggedDiscardAfterSTARTTLS = true
        actions.append(.log(.discardedAfterSTARTTLS))
    }

    mutating func close(reason: String, bye: String, into actions: inout [IMAPPreLoginAction]) {
        actions.append(.log(.closing(reason: reason)))
        actions.append(.send(IMAPWriter.status(nil, "BYE", bye)))
        actions.append(.close)
        mode = .closed
        _ = framer.takeRemainingBytes()
    }
}
