// One session to an upstream IMAP server, up to and through its login:
// resolve the host, connect (each address in turn), TLS at once (imaps) or
// after STARTTLS (imap), greeting and capabilities (`connect`: the connection
// is then ready and may wait in the IMAPUpstreamPool), then the login
// (`logIn`). `dial` does both under one deadline. The server's certificate is
// verified against the account's CA file or the system CAs, with the URL's
// host as SNI and expected name.
// Contract: each completion runs at most once, on the loop, and never after `cancel()`.
import IMAPProtocol
import Reactor
import TLS

final class IMAPUpstreamDialer {
    enum Outcome {
        /// Logged in; the connection's callbacks are unset and belong to the caller.
        case loggedIn(Connection, capabilities: [String], pendingServerBytes: [UInt8])
        case failed(IMAPUpstreamLoginFailure)
    }

    /// Who waits for what.
    private enum Waiter {
        case nobody
        /// `connect`: told when the connection is ready, or why it is not.
        case ready((IMAPUpstreamLoginFailure?) -> Void)
        /// Ready and parked: told if the server drops the connection meanwhile.
        case parked((IMAPUpstreamLoginFailure) -> Void)
        case login((Outcome) -> Void)
    }

    let endpoint: IMAPUpstreamEndpoint
    private unowned let reactor: Reactor
    private let tlsContext: TLSClientContext?
    private var login: IMAPUpstreamLogin
    private let connectTimeout: Duration
    private var waiter: Waiter = .nobody
    private var connection: Connection?
    private var deadline: TimerID?

    /// `tlsContext` is nil exactly when the endpoint uses no TLS.
    init(reactor: Reactor, endpoint: IMAPUpstreamEndpoint, tlsContext: TLSClientContext?, connectTimeout: Duration) {
        self.reactor = reactor
        self.endpoint = endpoint
        self.tlsContext = tlsContext
        self.connectTimeout = connectTimeout
        login = IMAPUpstreamLogin(security: endpoint.security)
    }

    var isReady: Bool { login.isReady && connection != nil }

    /// Connects and logs in `account`; the whole of it must end within `timeout`.
    func dial(_ account: IMAPUpstreamAccount, timeout: Duration, completion: @escaping (Outcome) -> Void) {
        let started = reactor.now
        connect(timeout: timeout) { [unowned self] failure in
            if let failure { return completion(.failed(failure)) }
            let spent = Duration.nanoseconds(Int64(clamping: self.reactor.now &- started))
            self.logIn(account, timeout: max(.zero, timeout - spent), completion: completion)
        }
    }

    /// Connects until the server waits for a login; the connect must end within `timeout`.
    func connect(timeout: Duration, onReady: @escaping (IMAPUpstreamLoginFailure?) -> Void) {
        waiter = .ready(onReady)
        arm(timeout)
        reactor.resolve(host: endpoint.host, port: endpoint.port) { [weak self] result in
            guard let self, case .ready = self.waiter else { return }
            switch result {
            case .success(let addresses) where !addresses.isEmpty:
                self.connect(addresses[...], lastError: nil)
            case .success:
                self.fail(.unavailable("\(self.endpoint.host) has no address"))
            case .failure(let error):
                self.fail(.unavailable("cannot resolve \(self.endpoint.host): \(error)"))
            }
        }
    }

    /// While ready and unused: `onLost` hears of the server closing or saying BYE.
    func park(onLost: @escaping (IMAPUpstreamLoginFailure) -> Void) {
        guard isReady else { return }
        waiter = .parked(onLost)
    }

    /// Logs in on a ready connection, within `timeout`.
    func logIn(_ account: IMAPUpstreamAccount, timeout: Duration, completion: @escaping (Outcome) -> Void) {
        waiter = .login(completion)
        guard isReady else { return fail(.unavailable("connection closed")) }
        arm(timeout)
        perform(login.logIn(as: account))
    }

    /// Abandons the session: closes the connection, and no completion runs.
    func cancel() {
        waiter = .nobody
        close()
    }

    // MARK: Connecting

    private func arm(_ timeout: Duration) {
        if let deadline { reactor.cancel(deadline) }
        deadline = reactor.schedule(after: timeout) { [weak self] in
            guard let self else { return }
            self.deadline = nil
            if self.connection == nil { return self.fail(.unavailable("timeout connecting")) }
            self.perform(self.login.timeout())
        }
    }

    private func connect(_ addresses: ArraySlice<SocketAddress>, lastError: SystemError?) {
        guard let address = addresses.first else {
            return fail(.unavailable(lastError.map { "\($0)" } ?? "cannot connect"))
        }
        reactor.connect(to: address, timeout: connectTimeout) { [weak self] result in
            guard let self, case .ready = self.waiter else {
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
        if endpoint.security == .implicitTLS { startTLS() }
    }

    private func startTLS() {
        guard let connection, let tlsContext else {
            return perform([.failed(.protocolError("TLS requested without a TLS context"))])
        }
        do {
            let session = try TLSSession(client: tlsContext, serverName: endpoint.host)
            connection.startLayer(TLSStreamLayer(session: session))
        } catch {
            perform([.failed(.unavailable("TLS setup failed: \(error)"))])
        }
    }

    private func closed(_ reason: CloseReason) {
        connection = nil
        switch reason {
        case .layerFailed(let why):
            fail(.unavailable("TLS failed: \(why)"))
        case .failed(let error):
            fail(.unavailable("\(error)"))
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
            case .ready:
                becameReady()
            case .loggedIn(let capabilities, let pending):
                loggedIn(capabilities: capabilities, pending: pending)
            case .failed(let failure):
                fail(failure)
            }
        }
    }

    private func becameReady() {
        guard case .ready(let onReady) = waiter else { return }
        waiter = .nobody
        if let deadline { reactor.cancel(deadline) }
        deadline = nil
        onReady(nil)
    }

    private func loggedIn(capabilities: [String], pending: [UInt8]) {
        guard let connection else { return fail(.unavailable("connection closed")) }
        guard case .login(let completion) = waiter else { return fail(.protocolError("logged in unasked")) }
        waiter = .nobody
        connection.onBytes = nil
        connection.onSecured = nil
        connection.onClosed = nil
        self.connection = nil
        close()
        completion(.loggedIn(connection, capabilities: capabilities, pendingServerBytes: pending))
    }

    private func fail(_ failure: IMAPUpstreamLoginFailure) {
        let waiting = waiter
        waiter = .nobody
        close()
        switch waiting {
        case .nobody: break
        case .ready(let onReady): onReady(failure)
        case .parked(let onLost): onLost(failure)
        case .login(let completion): completion(.failed(failure))
        }
    }

    private func close() {
        if let deadline { reactor.cancel(deadline) }
        deadline = nil
        if let connection {
            connection.onClosed = nil
            connection.close()
        }
        connection = nil
    }
}
