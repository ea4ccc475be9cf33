// The `[metrics] listen` HTTP listener on the reactor: GET/HEAD /metrics (the
// Prometheus text format, sampled metrics refreshed first) and /health (200
// "ok" when the database answered recently and every configured listener is
// open, else 503 and why); else 404, 405 or the parser's 400/413/414/431/505
// and close. The listener and connections are the shared HTTPServer's.
import Config
import HTTPProtocol
import Logging
import Postgres
import Reactor

final class MetricsServer {
    private let collector: MetricsCollector
    private let health: HealthCheck
    private let listenersProblem: () -> String?
    private var http: HTTPServer?

    init(reactor: Reactor, pool: PGPool, config: @escaping () -> MailgateConfig,
         listenersProblem: @escaping () -> String?) {
        self.collector = MetricsCollector(reactor: reactor, pool: pool, config: config)
        self.health = HealthCheck(reactor: reactor, pool: pool)
        self.listenersProblem = listenersProblem
        http = HTTPServer(name: "metrics", reactor: reactor, logger: Logger(label: "metrics")) { [unowned self] in
            self.respond(to: $0, $1)
        }
    }

    /// Opens, moves or closes the listener to match `spec`; returns why it cannot listen.
    func update(to spec: SocketAddressSpec?) -> String? { http?.update(to: spec) }

    /// Stops listening and closes every connection (drain).
    func close() { http?.close() }

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
}
