// One SMTP session to an account's upstream server: the pure SMTPClientSession
// driven over a reactor connection, with TLS (implicit or STARTTLS) verified
// against the account's CA file or the system's, SNI set to the upstream host.
// The relay hands it one message at a time once it is ready; each message gets
// exactly one result, and a session that dies reports why (classified as the
// message's, the connection's or the account's problem) before `onClosed`.
// One timer per session follows the machine's current wait.
import Config
import Logging
import Reactor
import SMTPProtocol
import TLS

final class UpstreamSession {
    enum Event {
        /// Idle and able to take a message.
        case ready
        case result(SMTPMessageResult)
        case failed(SMTPSessionFailure)
        case closed
    }

    let account: String
    private let reactor: Reactor
    private let endpoint: UpstreamURL
    private let tlsContext: TLSClientContext
    private var machine: SMTPClientSession
    private var connection: Connection?
    private var timer: TimerID?
    private var closed = false
    private let logger: Logger
    var onEvent: ((Event) -> Void)?
    /// The OAuth2 access token this session logs in with, to report it when refused.
    var oauth2Token: String?

    init(account: String, endpoint: UpstreamURL, configuration: SMTPClientConfiguration,
         tlsContext: TLSClientContext, reactor: Reactor, logger: Logger) {
        self.account = account
        self.endpoint = endpoint
        self.tlsContext = tlsContext
        self.reactor = reactor
        self.machine = SMTPClientSession(configuration: configuration)
        self.logger = logger
    }

    deinit {
        // The connection outlives no session: its callbacks must not reach a freed one.
        connection?.onClosed = nil
        connection?.close()
        if let timer { reactor.cancel(timer) }
    }

    var isReady: Bool { machine.isReady && !closed }

    func start() {
        arm(machine.configuration.timeouts.connect)
        reactor.resolve(host: endpoint.host, port: endpoint.port) { [weak self] resolved in
            guard let self, !self.closed else { return }
            switch resolved {
            case .failure(let error):
                self.perform(self.machine.connectionFailed("cannot resolve \(self.endpoint.host): \(error)"))
            case .success(let addresses):
                guard let address = addresses.first else {
                    return self.perform(self.machine.connectionFailed("\(self.endpoint.host) has no address"))
                }
                self.connect(to: address)
            }
        }
    }

    private func connect(to address: SocketAddress) {
        reactor.connect(to: address, timeout: machine.configuration.timeouts.connect) { [weak self] result in
            guard let self, !self.closed else {
                if case .success(let connection) = result { connection.close() }
                return
            }
            switch result {
            case .failure(let error):
                self.perform(self.machine.connectionFailed("connect to \(address): \(error)"))
            case .success(let connection):
                self.connection = connection
                connection.pausesReadingWhenBackpressured = false
                connection.onBytes = { [unowned self] bytes in self.perform(self.machine.receive(bytes)) }
                connection.onSecured = { [unowned self] in self.perform(self.machine.tlsEstablished()) }
                connection.onEndOfInput = { [unowned self] in self.perform(self.machine.connectionClosed()) }
                connection.onClosed = { [unowned self] reason in self.connectionClosed(reason) }
                self.perform(self.machine.connected())
            }
        }
    }

    func send(_ message: SMTPClientMessage) {
        perform(machine.send(message))
    }

    /// QUIT when idle; the session closes itself afterwards.
    func quit() {
        perform(machine.quit())
    }

    func abort() {
        finish()
    }

    // MARK: Machine

    private func perform(_ actions: [SMTPClientAction]) {
        for action in actions {
            guard !closed else { return }
            switch action {
            case .send(let bytes):
                connection?.write(bytes)
            case .startTLS:
                startTLS()
            case .ready:
                onEvent?(.ready)
            case .messageResult(let result):
                onEvent?(.result(result))
            case .sessionFailed(let failure):
                logger.warning("upstream session failed", metadata: [
                    "account": "\(account)", "upstream": "\(endpoint)", "reason": "\(failure.detail)",
                ])
                onEvent?(.failed(failure))
            case .close:
                connection?.closeAfterFlush()
                if connection == nil { finish() }
            }
        }
        if let wait = machine.currentWait { arm(wait.timeout) } else { disarm() }
    }

    private func startTLS() {
        do {
            let session = try TLSSession(client: tlsContext, serverName: endpoint.host)
            connection?.startLayer(TLSStreamLayer(session: session))
        } catch {
            perform(machine.tlsFailed("\(error)"))
        }
    }

    private func connectionClosed(_ reason: CloseReason) {
        guard !closed else { return }
        switch reason {
        case .layerFailed(let why):
            perform(machine.tlsFailed(why))
        case .failed(let error):
            perform(machine.connectionFailed("\(error)"))
        case .local, .peerClosed:
            perform(machine.connectionClosed())
        }
        finish()
    }

    private func finish() {
        guard !closed else { return }
        closed = true
        disarm()
        connection?.close()
        connection = nil
        onEvent?(.closed)
        onEvent = nil
    }

    // MARK: Timer

    private func arm(_ timeout: Duration) {
        disarm()
        timer = reactor.schedule(after: timeout) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.perform(self.machine.timeout())
        }
    }

    private func disarm() {
        if let timer { reactor.cancel(timer) }
        timer = nil
    }
}
