// A small HTTP/1.1 listener on the reactor, shared by the metrics endpoint and
// the one-click unsubscribe endpoint: opens/moves/closes with the config, at
// most `maxConnections`, requests answered one at a time per connection by the
// owner's `respond` (reading stops meanwhile), the parser's errors answered
// 400/405/413/414/431/505 and the connection closed; each request must arrive
// within `requestTimeout` of the connection or of the previous response.
import Config
import Glibc
import HTTPProtocol
import Logging
import Reactor

final class HTTPServer {
    static let maxConnections = 64
    static let requestTimeout: Duration = .seconds(30)

    typealias Responder = (HTTPRequest, @escaping (HTTPResponse) -> Void) -> Void

    unowned let reactor: Reactor
    let name: String
    let limits: HTTPRequestLimits
    let respond: Responder
    private let logger: Logger
    private var listener: Listener?
    private var listening: SocketAddressSpec?
    private var connections: [ObjectIdentifier: HTTPServerConnection] = [:]
    /// Ended connections kept until the loop is out of their callbacks.
    private var retired: [HTTPServerConnection] = []

    init(name: String, reactor: Reactor, limits: HTTPRequestLimits = HTTPRequestLimits(), logger: Logger,
         respond: @escaping Responder) {
        self.name = name
        self.reactor = reactor
        self.limits = limits
        self.logger = logger
        self.respond = respond
    }

    /// Opens, moves or closes the listener to match `spec`; returns why it cannot listen.
    func update(to spec: SocketAddressSpec?) -> String? {
        guard spec != listening else { return nil }
        listener?.close()
        listener = nil
        listening = nil
        guard let spec else { return nil }
        guard let address = SocketAddress(host: spec.host, port: spec.port) else {
            return "\(name) \(spec): not an IP address and port"
        }
        do {
            listener = try Listener(address: address, reactor: reactor) { [unowned self] in self.accept($0) }
            listening = spec
            logger.info("listening", metadata: ["service": "\(name)", "address": "\(address)"])
            return nil
        } catch {
            return "\(name) \(spec): \(error)"
        }
    }

    /// Stops listening and closes every connection (drain).
    func close() {
        _ = update(to: nil)
        for connection in Array(connections.values) { connection.connection.close() }
    }

    private func accept(_ connection: Connection) {
        guard connections.count < Self.maxConnections else { return connection.close() }
        let session = HTTPServerConnection(connection: connection, server: self)
        connections[ObjectIdentifier(session)] = session
        session.start()
    }

    func ended(_ session: HTTPServerConnection) {
        guard let ended = connections.removeValue(forKey: ObjectIdentifier(session)) else { return }
        retired.append(ended)
        if retired.count == 1 {
            reactor.schedule(after: .zero) { [weak self] in self?.retired.removeAll() }
        }
    }

    static func date() -> String { HTTPDate.format(secondsSinceEpoch: Int64(time(nil))) }
}

/// One HTTP connection: requests one at a time (reading stops while an answer is prepared).
final class HTTPServerConnection {
    let connection: Connection
    private unowned let server: HTTPServer
    private var parser: HTTPRequestParser
    private var answering = false
    /// The peer half-closed: answer what is being answered, then close.
    private var peerFinished = false
    private var timer: TimerID?

    init(connection: Connection, server: HTTPServer) {
        self.connection = connection
        self.server = server
        self.parser = HTTPRequestParser(limits: server.limits)
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
        timer = server.reactor.schedule(after: HTTPServer.requestTimeout) { [unowned self] in
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
            server.respond(request) { [weak self] response in
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
        connection.write(response.serialized(keepAlive: keepAlive, omitBody: omitBody, date: HTTPServer.date()))
        if !keepAlive { connection.closeAfterFlush() }
    }
}
