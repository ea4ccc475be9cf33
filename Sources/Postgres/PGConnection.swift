// One PostgreSQL session driven by the reactor through libpq's asynchronous
// API: PQconnectStart/PQconnectPoll to connect, then pipeline mode for ever
// (see PGConnection+Pipeline.swift). Completions run on the reactor thread,
// never inside the call that queued them. When the session breaks, every
// pending completion fails with kind .connectionLost and the connection stays
// closed: owners (PGPool, PGListener) open a new one.
internal import CLibPQ
import Reactor

public enum PGTransactionStatus: Sendable, Equatable {
    /// No transaction open, nothing running.
    case idle
    /// Work is in flight (results not yet read).
    case active
    /// Inside BEGIN ... COMMIT.
    case inTransaction
    /// Inside a transaction that failed: only ROLLBACK will do.
    case failedTransaction
    /// Connection not usable.
    case unknown
}

public final class PGConnection {
    public enum State: Sendable, Equatable {
        case connecting, ready, closed
    }

    let reactor: Reactor
    var conn: OpaquePointer?
    var registration: Registration?
    var connectTimer: TimerID?
    var connectCompletion: ((Result<PGConnection, PGError>) -> Void)?
    var waiting = FIFO<PendingUnit>()
    var inFlight = FIFO<PendingUnit>()
    /// A script (simple protocol) is running: pipeline mode is off until it ends.
    var scriptActive = false
    var needsFlush = false
    var prepared = PreparedStatements()
    /// Holds the connection alive while it connects: nobody else has it yet
    /// (the socket handler holds it weakly so an owner's drop closes it).
    private var selfWhileConnecting: PGConnection?

    public private(set) var state: State = .connecting
    /// Why the connection closed, once it has.
    public private(set) var closeReason: PGError?
    /// Called with each LISTEN notification, on the reactor thread.
    public var onNotification: ((PGNotification) -> Void)?
    /// Called once when the connection closes for any reason (not for a failed connect).
    public var onClose: ((PGError) -> Void)?

    init(reactor: Reactor) { self.reactor = reactor }

    deinit {
        if let registration { reactor.unregister(registration) }
        if let connectTimer { reactor.cancel(connectTimer) }
        if let conn { PQfinish(conn) }
    }

    // MARK: Connecting

    /// Opens a session without blocking the loop. `url` is a postgresql:// URL
    /// or a libpq key=value string; a host name in it is resolved on a worker
    /// thread. `completion` runs once, on the loop.
    public static func connect(
        reactor: Reactor, url: String, timeout: Duration = .seconds(10),
        completion: @escaping (Result<PGConnection, PGError>) -> Void
    ) {
        let connection = PGConnection(reactor: reactor)
        connection.connectCompletion = completion
        connection.selfWhileConnecting = connection
        connection.connectTimer = reactor.schedule(after: timeout) { [weak connection] in
            connection?.fail(PGError(.connectFailed, "timed out after \(timeout) connecting to PostgreSQL"))
        }
        switch ConnectTarget.parse(url) {
        case .failure(let error):
            reactor.schedule(after: .zero) { connection.fail(error) }
        case .success(let target):
            guard let (host, port) = target.hostToResolve else {
                reactor.schedule(after: .zero) { connection.start(url: url, options: target.options, resolved: nil) }
                return
            }
            reactor.resolve(host: host, port: port) { result in
                switch result {
                case .success(let addresses):
                    guard !addresses.isEmpty else {
                        return connection.fail(PGError(.connectFailed, "\(host): no address"))
                    }
                    connection.start(url: url, options: target.options, resolved: (host, addresses.map(\.host)))
                case .failure(let error):
                    connection.fail(PGError(.connectFailed, "cannot resolve \(host): \(error)"))
                }
            }
        }
    }

    /// `options`: the session's server settings (ConnectTarget). `resolved`: the host name and
    /// its addresses; libpq tries each address in turn (host repeated so TLS still verifies the name).
    private func start(url: String, options: String, resolved: (host: String, addresses: [String])?) {
        guard state == .connecting, conn == nil else { return }
        var params = [("dbname", url), ("fallback_application_name", "mailgate"), ("options", options)]
        if let (host, addresses) = resolved {
            params.append(("host", Array(repeating: host, count: addresses.count).joined(separator: ",")))
            params.append(("hostaddr", addresses.joined(separator: ",")))
        }
        conn = withConnectParams(params) { keywords, values in PQconnectStartParams(keywords, values, 1) }
        guard let conn else { return fail(PGError(.connectFailed, "libpq could not allocate a connection")) }
        guard PQstatus(conn) != CONNECTION_BAD else {
            return fail(PGError(.connectFailed, PGText.message(PQerrorMessage(conn))))
        }
        // libpq's rule: begin as if PQconnectPoll had answered "writing".
        watch(.write)
    }

    private func pollConnect() {
        guard let conn else { return }
        let status = PQconnectPoll(conn)
        if status == PGRES_POLLING_OK {
            becomeReady(conn)
        } else if status == PGRES_POLLING_READING {
            watch(.read)
        } else if status == PGRES_POLLING_WRITING {
            watch(.write)
        } else {
            fail(PGError(.connectFailed, PGText.message(PQerrorMessage(conn))))
        }
    }

    private func becomeReady(_ conn: OpaquePointer) {
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        guard PQsetnonblocking(conn, 1) == 0, PQenterPipelineMode(conn) == 1 else {
            return fail(PGError(.connectFailed, "cannot enter pipeline mode: \(PGText.message(PQerrorMessage(conn)))"))
        }
        if let connectTimer { reactor.cancel(connectTimer) }
        connectTimer = nil
        state = .ready
        watch(.read)
        guard state == .ready else { return }
        let completion = connectCompletion
        connectCompletion = nil
        defer { selfWhileConnecting = nil }
        completion?(.success(self))
        guard state == .ready else { return }
        service()
    }

    /// (Re)registers libpq's current socket: it may change between connect
    /// steps (another address, SSL fallback), so the old registration goes first.
    func watch(_ interest: Interest) {
        if let registration { reactor.unregister(registration) }
        registration = nil
        guard let conn else { return }
        let fd = PQsocket(conn)
        guard fd >= 0 else { return fail(PGError(.connectionLost, "libpq has no socket")) }
        do {
            registration = try reactor.register(fd: fd, interest: interest) { [weak self] events in
                self?.handle(events)
            }
        } catch {
            fail(PGError(.connectionLost, "cannot watch the PostgreSQL socket: \(error)"))
        }
    }

    private func handle(_ events: IOEvents) {
        switch state {
        case .connecting: pollConnect()
        case .ready: service()
        case .closed: break
        }
    }

    // MARK: Public API

    /// Runs one statement with its parameters ($1, $2...). Values are sent
    /// beside the SQL text, never spliced into it.
    public func query(
        _ sql: String, _ params: [PGValue?] = [], completion: @escaping (Result<PGResult, PGError>) -> Void
    ) {
        batch([PGStatement(sql, params)]) { result in
            completion(result.flatMap { results in
                results.first.map { .success($0) } ?? .failure(PGError(.unsupported, "no result for \(sql)"))
            })
        }
    }

    /// Sends `statements` as one pipelined unit ending in one sync: one write,
    /// one round trip, and one implicit transaction — all of them commit, or
    /// none (the first error is reported; later statements are skipped).
    /// Include explicit BEGIN/COMMIT only inside `PGPool.withTransaction`.
    public func batch(_ statements: [PGStatement], completion: @escaping (Result<[PGResult], PGError>) -> Void) {
        if let problem = PendingUnit.validate(statements) {
            return later { completion(.failure(problem)) }
        }
        enqueue(PendingUnit(work: .pipeline(statements), completion: completion))
    }

    /// Runs SQL text that may hold several statements (a migration file)
    /// through the simple query protocol. No parameters: never build `sql`
    /// from values. Pipelining pauses while it runs.
    public func script(_ sql: String, completion: @escaping (Result<[PGResult], PGError>) -> Void) {
        guard !sql.utf8.contains(0) else {
            return later { completion(.failure(PGError(.invalidQuery, "SQL text contains a NUL byte"))) }
        }
        enqueue(PendingUnit(work: .script(sql), completion: completion))
    }

    /// Ends the session. Pending completions fail with kind .closed.
    public func close() {
        fail(PGError(.closed, "connection closed by mailgate"))
    }

    public var isAlive: Bool { state != .closed }
    /// Units queued or in flight.
    public var pendingCount: Int { waiting.count + inFlight.count }
    /// The server process serving this session (pg_backend_pid()); 0 when not connected.
    public var backendPID: Int32 { conn.map { PQbackendPID($0) } ?? 0 }

    public var transactionStatus: PGTransactionStatus {
        guard let conn, state == .ready else { return .unknown }
        let status = PQtransactionStatus(conn)
        if status == PQTRANS_IDLE { return .idle }
        if status == PQTRANS_ACTIVE { return .active }
        if status == PQTRANS_INTRANS { return .inTransaction }
        if status == PQTRANS_INERROR { return .failedTransaction }
        return .unknown
    }

    // MARK: Internals shared with the pipeline

    func enqueue(_ unit: PendingUnit) {
        guard state != .closed else {
            let error = closeReason ?? PGError(.closed, "connection closed")
            return later { unit.completion(.failure(error)) }
        }
        waiting.append(unit)
        if state == .ready { pump() }
    }

    func later(_ work: @escaping () -> Void) {
        reactor.schedule(after: .zero, work)
    }

    /// Ends the connection with `error`: releases libpq's socket, fails every
    /// pending unit (a lost connection's own error wins for the unit it hit),
    /// and tells the owner.
    func fail(_ error: PGError) {
        guard state != .closed else { return }
        let wasReady = state == .ready
        state = .closed
        closeReason = error
        if let registration { reactor.unregister(registration) }
        registration = nil
        if let connectTimer { reactor.cancel(connectTimer) }
        connectTimer = nil
        if let conn { PQfinish(conn) }
        conn = nil
        let units = inFlight.drain() + waiting.drain()
        // The server's own farewell (57P01 "terminating connection due to
        // administrator command") says more than libpq's "server closed the
        // connection": every unit hears it.
        let farewell = units.lazy.compactMap(\.firstError).first { $0.kind == .connectionLost }
        let reason = error.kind == .connectionLost ? farewell ?? error : error
        closeReason = reason
        for unit in units { unit.completion(.failure(reason)) }
        if let completion = connectCompletion {
            connectCompletion = nil
            completion(.failure(error))
        }
        if wasReady { onClose?(reason) }
        onClose = nil
        onNotification = nil
        selfWhileConnecting = nil
    }
}
