// One HTTP/1.1 request over the reactor, to an http:// or https:// URL: resolve
// (off the loop), connect to each address in turn within `timeout`, put TLS
// under the connection for https (verified against the context's CAs, SNI and
// host check by TLSSession), write the request (Connection: close), and read
// one response with the pure HTTPResponseParser. A second `timeout` bounds
// everything after the connect. The completion runs exactly once, on the loop,
// unless the exchange is cancelled first.
import Config
import HTTPProtocol
import Reactor
import TLS

enum HTTPClientError: Error, CustomStringConvertible {
    case resolve(String)
    case connect(String)
    case tls(String)
    case timeout(String)
    case response(HTTPResponseError)
    case closed(String)

    var description: String {
        switch self {
        case .resolve(let why): "cannot resolve: \(why)"
        case .connect(let why): "cannot connect: \(why)"
        case .tls(let why): "TLS failed: \(why)"
        case .timeout(let what): "timed out \(what)"
        case .response(let error): "\(error)"
        case .closed(let why): "connection lost: \(why)"
        }
    }
}

final class HTTPExchange {
    private let reactor: Reactor
    private let url: WebURL
    private let request: [UInt8]
    private let tlsContext: TLSClientContext?
    private let timeout: Duration
    private var completion: ((Result<HTTPClientResponse, HTTPClientError>) -> Void)?
    private var connection: Connection?
    private var parser = HTTPResponseParser()
    private var timer: TimerID?

    /// Starts at once. `tlsContext` is required for https:// URLs and ignored for http://.
    init(reactor: Reactor, url: WebURL, request: HTTPClientRequest, tlsContext: TLSClientContext?, timeout: Duration,
         completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void) {
        self.reactor = reactor
        self.url = url
        self.request = request.serialized()
        self.tlsContext = tlsContext
        self.timeout = timeout
        self.completion = completion
        start()
    }

    deinit {
        connection?.onClosed = nil
        connection?.close()
        if let timer { reactor.cancel(timer) }
    }

    /// Stops the exchange; the completion is not called.
    func cancel() {
        completion = nil
        teardown()
    }

    private func start() {
        timer = reactor.schedule(after: timeout) { [weak self] in
            self?.timer = nil
            self?.finish(.failure(.timeout("connecting to \(self?.url.hostHeader ?? "")")))
        }
        reactor.resolve(host: url.host, port: url.port) { [weak self] resolved in
            guard let self, self.completion != nil else { return }
            switch resolved {
            case .failure(let error):
                self.finish(.failure(.resolve("\(self.url.host): \(error)")))
            case .success(let addresses):
                self.connect(addresses[...], lastError: "\(self.url.host) has no address")
            }
        }
    }

    private func connect(_ addresses: ArraySlice<SocketAddress>, lastError: String) {
        guard let address = addresses.first else { return finish(.failure(.connect(lastError))) }
        reactor.connect(to: address, timeout: timeout) { [weak self] result in
            guard let self, self.completion != nil else {
                if case .success(let connection) = result { connection.close() }
                return
            }
            switch result {
            case .failure(let error):
                self.connect(addresses.dropFirst(), lastError: "\(address): \(error)")
            case .success(let connection):
                self.connected(connection)
            }
        }
    }

    private func connected(_ connection: Connection) {
        self.connection = connection
        if let timer { reactor.cancel(timer) }
        timer = reactor.schedule(after: timeout) { [weak self] in
            self?.timer = nil
            self?.finish(.failure(.timeout("waiting for the response")))
        }
        connection.onBytes = { [unowned self] bytes in
            self.parser.append(bytes)
            if let result = self.parser.next() { self.deliver(result) }
        }
        connection.onEndOfInput = { [unowned self] in self.deliver(self.parser.endOfInput()) }
        connection.onClosed = { [unowned self] reason in
            switch reason {
            case .layerFailed(let why): self.finish(.failure(.tls(why)))
            case .failed(let error): self.finish(.failure(.closed("\(error)")))
            case .local, .peerClosed: self.deliver(self.parser.endOfInput())
            }
        }
        if url.isHTTPS {
            guard let tlsContext else { return finish(.failure(.tls("no TLS client context"))) }
            do {
                let session = try TLSSession(client: tlsContext, serverName: url.host)
                connection.startLayer(TLSStreamLayer(session: session))
            } catch {
                return finish(.failure(.tls("\(error)")))
            }
        }
        // Under TLS the layer holds the request until the handshake is done.
        connection.write(request)
    }

    private func deliver(_ result: HTTPResponseParseResult) {
        switch result {
        case .response(let response): finish(.success(response))
        case .failure(let error): finish(.failure(.response(error)))
        }
    }

    private func finish(_ result: Result<HTTPClientResponse, HTTPClientError>) {
        guard let completion else { return }
        self.completion = nil
        teardown()
        completion(result)
    }

    private func teardown() {
        if let timer { reactor.cancel(timer) }
        timer = nil
        connection?.onClosed = nil
        connection?.close()
        connection = nil
    }
}
