// Opens the session to an upstream IMAP server and logs in there: resolve the
// host, connect (each address in turn), TLS at once (imaps) or after STARTTLS
// (imap), then the pure IMAPUpstreamLogin machine. The server's certificate is
// verified against the account's CA file or the system CAs, with the URL's
// host as SNI and expected name. One deadline covers the whole dial.
// Contract: `completion` runs exactly once on the loop unless `cancel()` ran first.
import IMAPProtocol
import Reactor
import TLS

final class IMAPUpstreamDialer {
    enum Outcome {
        /// Logged in; the connection's callbacks are unset and belong to the caller.
        case loggedIn(Connection, capabilities: [String], pendingServerBytes: [UInt8])
        case failed(IMAPUpstreamLoginFailure)
    }

    private unowned let reactor: Reactor
    private let target: IMAPUpstreamTarget
    private let tlsContext: TLSClientContext?
    private var login: IMAPUpstreamLogin
    private let connectTimeout: Duration
    private var completion: ((Outcome) -> Void)?
    private var connection: Connection?
    private var deadline: TimerID?

    /// `clientPeer` is the proxied client (sent upstream with ID); nil for mailgate's own sessions (the sync).
    init(reactor: Reactor, target: IMAPUpstreamTarget, prepared: IMAPPreparedUpstream, clientPeer: SocketAddress?,
         connectTimeout: Duration, completion: @escaping (Outcome) -> Void) {
        self.reactor = reactor
        self.target = target
        self.tlsContext = prepared.tlsContext
        self.connectTimeout = connectTimeout
        self.completion = completion
        login = IMAPUpstreamLogin(configuration: IMAPUpstreamLoginConfiguration(
            security: target.security, username: target.username, credential: prepared.credential,
            clientAddress: clientPeer?.host, clientPort: clientPeer.map { Int($0.port) }))
    }

    /// Starts dialing; the whole dial (connect and login) must end within `timeout`.
    func start(timeout: Duration) {
        deadline = reactor.schedule(after: timeout) { [weak self] in
            guard let self else { return }
            self.deadline = nil
            if self.connection == nil { return self.finish(.failed(.unavailable("timeout connecting"))) }
            self.perform(self.login.timeout())
        }
        reactor.resolve(host: target.host, port: target.port) { [weak self] result in
            guard let self, self.completion != nil else { return }
            switch result {
            case .success(let addresses) where !addresses.isEmpty:
                self.connect(addresses[...], lastError: nil)
            case .success:
                self.finish(.failed(.unavailable("\(self.target.host) has no address")))
            case .failure(let error):
                self.finish(.failed(.unavailable("cannot resolve \(self.target.host): \(error)")))
            }
        }
    }

    /// Abandons the dial: closes the connection, and `completion` never runs.
    func cancel() {
        completion = nil
        if let deadline { reactor.cancel(deadline) }
        deadline = nil
        if let connection {
            connection.onClosed = nil
            connection.close()
        }
        connection = nil
    }

    // MARK: Connecting

    private func connect(_ addresses: ArraySlice<SocketAddress>, lastError: SystemError?) {
        guard let address = addresses.first else {
            return finish(.failed(.unavailable(lastError.map { "\($0)" } ?? "cannot connect")))
        }
        reactor.connect(to: address, timeout: connectTimeout) { [weak self] result in
            guard let self, self.completion != nil else {
                if case .success(let connection) = result { connection.close() }
                return
            }
            switch result {
            case .success(let connection):
                self.connected(connection)
            case .failure(let error):
                self.connect(addresses.dropFirst(), lastError: error)
            }
        }
    }

    private func connected(_ connection: Connection) {
        self.connection = connection
        connection.onBytes = { [unowned self] bytes in self.perform(self.login.receive(bytes)) }
        connection.onSecured = { [unowned self] in self.perform(self.login.tlsEstablished()) }
        connection.onClosed = { [unowned self] reason in self.closed(reason) }
        if target.security == .implicitTLS { startTLS() }
    }

    private func startTLS() {
        guard let connection, let tlsContext else {
            return perform([.failed(.protocolError("TLS requested without a TLS context"))])
        }
        do {
            let session = try TLSSession(client: tlsContext, serverName: target.host)
            connection.startLayer(TLSStreamLayer(session: session))
        } catch {
            perform([.failed(.unavailable("TLS setup failed: \(error)"))])
        }
    }

    private func closed(_ reason: CloseReason) {
        connection = nil
        switch reason {
        case .layerFailed(let why):
            finish(.failed(.unavailable("TLS failed: \(why)")))
        case .failed(let error):
            finish(.failed(.unavailable("\(error)")))
        case .local, .peerClosed:
            perform(login.connectionClosed())
        }
    }

    // MARK: Login actions

    private func perform(_ actions: [IMAPUpstreamLoginAction]) {
        for action in actions {
            switch action {
            case .send(let bytes):
                connection?.write(bytes)
            case .startTLS:
                startTLS()
            case .loggedIn(let capabilities, let pending):
                guard let connection else { return finish(.failed(.unavailable("connection closed"))) }
                connection.onBytes = nil
                connection.onSecured = nil
                connection.onClosed = nil
                self.connection = nil
                finish(.loggedIn(connection, capabilities: capabilities, pendingServerBytes: pending))
            case .failed(let failure):
                finish(.failed(failure))
            }
        }
    }

    private func finish(_ outcome: Outcome) {
        if let deadline { reactor.cancel(deadline) }
        deadline = nil
        if let connection {
            connection.onClosed = nil
            connection.close()
        }
        connection = nil
        guard let completion else { return }
        self.completion = nil
        completion(outcome)
    }
}
