// The `[metrics] listen` HTTP listener on the reactor: GET/HEAD /metrics (the
// Prometheus text format, sampled metrics refreshed first) and /health (200
// "ok" when the database answered recently and every configured listener is
// open, else 503 and why); else 404, 405 or the parser's 400/413/414/431/505
// and close. At most `maxConnections`; each request must arrive within
// `requestTimeout` of the connection or the previous response.
import Config
import Glibc
import HTTPProtocol
import Logging
import Postgres
import Reactor

final class MetricsServer {
    static let maxConnections = 64
    static let requestTimeout: Duration = .seconds(30)

    unowned let reactor: Reactor
    private let collector: MetricsCollector
    private let health: HealthCheck
    private let listenersProblem: () -> String?
    private let logger = Logger(label: "metrics")
    private var listener: Listener?
    private var listening: SocketAddressSpec?
    private var connections: [ObjectIdentifier: MetricsConnection] = [:]
    /// Ended connections kept until the loop is out of their callbacks.
    private var retired: [MetricsConnection] = []

    init(reactor: Reactor, pool: PGPool, config: @escaping () -> MailgateConfig,
         listenersProblem: @escaping () -> String?) {
        self.reactor = reactor
        self.collector = MetricsCollector(reactor: reactor, pool: pool, config: config)
        self.health = HealthCheck(reactor: reactor, pool: pool)
        self.listenersProblem = listenersProblem
    }

    /// Opens, moves or closes the listener to match `spec`; returns why it cannot listen.
    func update(to spec: SocketAddressSpec?) -> String? {
        guard spec != listening else { return nil }
        listener?.close()
        listener = nil
        listening = nil
        guard let spec else { return nil }
        guard let address = SocketAddress(host: spec.host, port: spec.port) else {
            return "metrics \(spec): not an IP address and port"
        }
        do {
            listener = try Listener(address: address, reactor: reactor) { [unowned self] in self.accept($0) }
            listening = spec
            logger.info("listening", metadata: ["service": "metrics", "address": "\(address)"])
            return nil
        } catch {
            return "metrics \(spec): \(error)"
        }
    }

    /// Stops listening and closes every connection (drain).
    func close() {
        _ = update(to: nil)
        for connection in Array(connections.values) { connection.connection.close() }
    }

    private func accept(_ connection: Connection) {
        guard connections.count < Self.maxConnections else { return connection.close() }
        let session = MetricsConnection(connection: connection, server: self)
        connections[ObjectIdentifier(session)] = session
        session.start()
    }

    func ended(_ session: MetricsConnection) {
        guard let ended = connections.removeValue(forKey: ObjectIdentifier(session)) else { return }
        retired.append(ended)
        if retired.count == 1 {
            reactor.schedule(after: .zero) { [weak self] in self?.retired.removeAll() }
        }
    }

    // MARK: Routes

    func respond(to request: HTTPRequest, _ reply: @escaping (HTTPResponse) -> Void) {
        if request.pathIs("/metrics") {
            collector.collect {
                reply(HTTPResponse(status: .ok, headers: [HTTPHeader("Content-Type", MetricsRegistry.contentType)],
                                   body: MetricsRegistry.exposition()))
            }
        } else if request.pathIs("/health") {
            health.databaseProblem { [weak self] problem in
                guard let problem = problem ?? self?.listenersProblem() else { return reply(.text(.ok, "ok")) }
                reply(.text(.serviceUnavailable, problem))
            }
        } else {
            reply(.text(.notFound, "not found: try /metrics or /health"))
        }
    }

    static func date() -> String { HTTPDate.format(secondsSinceEpoch: Int64(time(nil))) }
}

/// One HTTP connection: requests one at a time (reading stops while an answer is prepared).
final class MetricsConnection {
    let connection: Connection
    private unowned let server: MetricsServer
    private var parser = HTTPRequestParser()
    private var answering = false
    /// The peer half-closed: answer what is being answered, then close.
    private var peerFinished = false
    private var timer: TimerID?

    init(connection: Connection, server: MetricsServer) {
        self.connection = connection
        self.server = server
    }

    func start() {
        connection.onBytes = { [unowned self] bytes in
            self.parser.append(bytes)
            self.serveNext()
        }
        connection.onEndOfInput = { [unowned self] in
            self.peerFinished = true
            if !self.answering { self.connection.closeAfterFlush() }
        }
        connection.onClosed = { [unowned self] _ in
            if let timer = self.timer { self.server.reactor.cancel(timer) }
            self.timer = nil
            self.server.ended(self)
        }
        armTimer()
    }

    private func armTimer() {
        if let timer { server.reactor.cancel(timer) }
        timer = server.reactor.schedule(after: MetricsServer.requestTimeout) { [unowned self] in
            self.timer = nil
            if !self.answering { self.connection.close() }
        }
    }

    private func serveNext() {
        guard !answering, !connection.isClosed, let next = parser.next() else { return }
        switch next {
        case .failure(let error):
            send(.error(error), keepAlive: false, omitBody: false)
        case .request(let request):
            answering = true
            connection.pauseReading()
            server.respond(to: request) { [weak self] response in
                guard let self, !self.connection.isClosed else { return }
                self.answering = false
                let keepAlive = request.keepAlive && !self.peerFinished
                self.send(response, keepAlive: keepAlive, omitBody: request.method == .head)
                guard keepAlive, !self.connection.isClosed else { return }
                self.armTimer()
                self.connection.resumeReading()
                self.serveNext()
            }
        }
    }

    private func send(_ response: HTTPResponse, keepAlive: Bool, omitBody: Bool) {
        connection.write(response.serialized(keepAlive: keepAlive, omitBody: omitBody, date: MetricsServer.date()))
        if !keepAlive { connection.closeAfterFlush() }
    }
}
