// A pool of sessions on one reactor. A connection is lent to one holder at a
// time (a transaction needs that); waiters queue in order. Connections open
// lazily up to `size`; a dead one is dropped and replaced on demand. After a
// failed connect the pool backs off (100 ms doubling to 5 s) and fails the
// waiters it cannot serve, so callers hear "database unreachable" promptly
// instead of piling up; the first query after the server is back succeeds.
import Logging
import Reactor

public struct PGPoolStats: Sendable, Equatable {
    public var inUse = 0
    public var idle = 0
    public var connecting = 0
    public var waiting = 0
    /// Failed connects plus failed queries run through the pool's helpers.
    public var errors = 0
    public var connectionsOpened = 0
    public var connectionsLost = 0
}

public final class PGPool {
    public let size: Int
    /// The loop the pool and its callers run on.
    public let reactor: Reactor
    private let url: String
    private let connectTimeout: Duration
    private let logger: Logger
    private var idle: [PGConnection] = []
    private var busy: [ObjectIdentifier: PGConnection] = [:]
    private var connecting = 0
    private var waiters = FIFO<(Result<PGConnection, PGError>) -> Void>()
    private var backoff: Duration = .zero
    private var nextConnectAt: UInt64 = 0
    private var retryTimer: TimerID?
    private var closed = false
    private var counters = PGPoolStats()

    public init(reactor: Reactor, url: String, size: Int, connectTimeout: Duration = .seconds(10),
                logger: Logger = Logger(label: "mailgate.postgres")) {
        self.reactor = reactor
        self.url = url
        self.size = max(1, size)
        self.connectTimeout = connectTimeout
        self.logger = logger
    }

    public var stats: PGPoolStats {
        var stats = counters
        stats.inUse = busy.count
        stats.idle = idle.count
        stats.connecting = connecting
        stats.waiting = waiters.count
        return stats
    }

    // MARK: Lending

    /// Lends a connection; give it back with `release`. May call `completion`
    /// before returning when an idle connection is at hand.
    public func acquire(_ completion: @escaping (Result<PGConnection, PGError>) -> Void) {
        guard !closed else { return later { completion(.failure(PGError(.closed, "the pool is closed"))) } }
        waiters.append(completion)
        dispatch()
    }

    /// Takes a lent connection back. A connection left inside a transaction is
    /// rolled back first; a dead one is dropped.
    public func release(_ connection: PGConnection) {
        guard busy.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        guard connection.isAlive, !closed else {
            if closed { connection.close() }
            return dispatch()
        }
        switch connection.transactionStatus {
        case .inTransaction, .failedTransaction:
            busy[ObjectIdentifier(connection)] = connection
            connection.query("ROLLBACK") { [weak self] _ in self?.release(connection) }
            return
        case .idle, .active, .unknown:
            break
        }
        idle.append(connection)
        dispatch()
    }

    /// Closes idle connections, fails waiters; lent ones close when released.
    public func close() {
        closed = true
        if let retryTimer { reactor.cancel(retryTimer) }
        retryTimer = nil
        for connection in idle { connection.close() }
        idle.removeAll()
        for waiter in waiters.drain() { waiter(.failure(PGError(.closed, "the pool is closed"))) }
    }

    private func dispatch() {
        while !waiters.isEmpty, let connection = idle.popLast() {
            guard connection.isAlive, let waiter = waiters.popFirst() else { continue }
            busy[ObjectIdentifier(connection)] = connection
            waiter(.success(connection))
        }
        let wanted = min(waiters.count - connecting, size - busy.count - idle.count - connecting)
        guard wanted > 0, !closed else { return }
        let now = reactor.now
        if now < nextConnectAt {
            if retryTimer == nil {
                retryTimer = reactor.schedule(after: .nanoseconds(Int64(nextConnectAt - now))) { [weak self] in
                    self?.retryTimer = nil
                    self?.dispatch()
                }
            }
            return
        }
        for _ in 0..<wanted { open() }
    }

    private func open() {
        connecting += 1
        PGConnection.connect(reactor: reactor, url: url, timeout: connectTimeout) { [weak self] result in
            guard let self else {
                if case .success(let connection) = result { connection.close() }
                return
            }
            self.connecting -= 1
            switch result {
            case .success(let connection):
                self.counters.connectionsOpened += 1
                self.backoff = .zero
                self.nextConnectAt = 0
                connection.onClose = { [weak self, unowned connection] error in
                    self?.lost(connection, error)
                }
                if self.closed { return connection.close() }
                self.idle.append(connection)
                self.dispatch()
            case .failure(let error):
                self.counters.errors += 1
                self.backoff = min(max(.milliseconds(100), self.backoff * 2), .seconds(5))
                self.nextConnectAt = self.reactor.now &+ UInt64(self.backoff.components.seconds) * 1_000_000_000
                    &+ UInt64(self.backoff.components.attoseconds / 1_000_000_000)
                self.logger.error("database connect failed", metadata: ["error": "\(error)"])
                // Waiters no live or opening connection can serve hear it now.
                var unserved = self.waiters.count - (self.busy.count + self.idle.count + self.connecting)
                while unserved > 0, let waiter = self.waiters.popFirst() {
                    unserved -= 1
                    waiter(.failure(error))
                }
                self.dispatch()
            }
        }
    }

    private func lost(_ connection: PGConnection, _ error: PGError) {
        guard error.kind != .closed else { return }
        counters.connectionsLost += 1
        logger.warning("database connection lost", metadata: ["error": "\(error)"])
        idle.removeAll { $0 === connection }
    }

    private func later(_ work: @escaping () -> Void) { reactor.schedule(after: .zero, work) }

    // MARK: Helpers

    /// One statement on a lent connection, returned at once.
    public func query(_ sql: String, _ params: [PGValue?] = [], completion: @escaping (Result<PGResult, PGError>) -> Void) {
        withConnection({ connection, done in connection.query(sql, params, completion: done) }, completion: completion)
    }

    /// A pipelined batch (one implicit transaction) on a lent connection.
    public func batch(_ statements: [PGStatement], completion: @escaping (Result<[PGResult], PGError>) -> Void) {
        withConnection({ connection, done in connection.batch(statements, completion: done) }, completion: completion)
    }

    /// NOTIFY through a parameterised query: `SELECT pg_notify($1, $2)`.
    public func notify(channel: String, payload: String, completion: @escaping (Result<Void, PGError>) -> Void) {
        query("SELECT pg_notify($1, $2)", [PGValue(channel), PGValue(payload)]) { completion($0.map { _ in () }) }
    }

    /// Lends a connection to `body` until it calls `done`, then takes it back
    /// and passes the outcome on.
    public func withConnection<Value>(
        _ body: @escaping (PGConnection, @escaping (Result<Value, PGError>) -> Void) -> Void,
        completion: @escaping (Result<Value, PGError>) -> Void
    ) {
        acquire { [weak self] lent in
            switch lent {
            case .failure(let error):
                completion(.failure(error))
            case .success(let connection):
                var finished = false
                body(connection) { outcome in
                    guard !finished else { return }
                    finished = true
                    if case .failure = outcome { self?.counters.errors += 1 }
                    self?.release(connection)
                    completion(outcome)
                }
            }
        }
    }

    /// BEGIN, `body`'s queries, then COMMIT when it succeeds or ROLLBACK when
    /// it fails, all on one connection. BEGIN is pipelined with the body's
    /// first statements. A COMMIT the server turns into ROLLBACK (the body
    /// ignored an error) is reported as a failure.
    public func withTransaction<Value>(
        _ body: @escaping (PGConnection, @escaping (Result<Value, PGError>) -> Void) -> Void,
        completion: @escaping (Result<Value, PGError>) -> Void
    ) {
        withConnection({ connection, done in
            var beginError: PGError?
            connection.query("BEGIN") { result in
                if case .failure(let error) = result { beginError = error }
            }
            body(connection) { outcome in
                switch (beginError, outcome) {
                case (let error?, _):
                    done(.failure(error))
                case (nil, .success(let value)):
                    connection.query("COMMIT") { commit in
                        switch commit {
                        case .success(let result) where result.commandTag == "COMMIT":
                            done(.success(value))
                        case .success:
                            done(.failure(PGError(.queryFailed, "the transaction had failed; COMMIT rolled it back")))
                        case .failure(let error):
                            done(.failure(error))
                        }
                    }
                case (nil, .failure(let error)):
                    connection.query("ROLLBACK") { _ in done(.failure(error)) }
                }
            }
        }, completion: completion)
    }
}
