// LISTEN on a dedicated session. Channels are identifiers, not values, so
// LISTEN cannot take parameters: names are checked (letters, digits, _; at
// most 63 bytes) and quoted. After the session breaks the listener reconnects
// with backoff (100 ms doubling to 5 s) and LISTENs again; notifications sent
// while it was away are lost, so `onReconnect` tells the owner to rescan.
import Logging
import Reactor

public final class PGListener {
    private let reactor: Reactor
    private let url: String
    private let logger: Logger
    private let handler: (PGNotification) -> Void
    private var connection: PGConnection?
    private var channels: [String] = []
    private var backoff: Duration = .zero
    private var reconnectTimer: TimerID?
    private var connecting = false
    private var closed = false
    /// Called on the reactor thread each time LISTEN is in place again after
    /// a reconnection (not the first time).
    public var onReconnect: (() -> Void)?
    public private(set) var reconnections = 0

    /// Starts connecting at once; `handler` gets every notification on the reactor thread.
    public init(reactor: Reactor, url: String, logger: Logger = Logger(label: "mailgate.postgres"),
                handler: @escaping (PGNotification) -> Void) {
        self.reactor = reactor
        self.url = url
        self.logger = logger
        self.handler = handler
        connect()
    }

    /// Adds a channel. `completion` runs once LISTEN is in place on the
    /// current session (or with the error if it failed; the channel is kept
    /// and LISTENed again after the next reconnection).
    public func listen(_ channel: String, completion: ((Result<Void, PGError>) -> Void)? = nil) {
        guard let quoted = PGListener.quoted(channel) else {
            reactor.schedule(after: .zero) {
                completion?(.failure(PGError(.invalidQuery, "bad channel name \(channel) (letters, digits, _; max 63 bytes)")))
            }
            return
        }
        if !channels.contains(channel) { channels.append(channel) }
        guard let connection, connection.state == .ready else {
            pendingListens.append(completion)
            return
        }
        connection.query("LISTEN \(quoted)") { result in completion?(result.map { _ in () }) }
    }

    /// Stops listening on `channel`.
    public func unlisten(_ channel: String) {
        channels.removeAll { $0 == channel }
        guard let quoted = PGListener.quoted(channel), let connection, connection.state == .ready else { return }
        connection.query("UNLISTEN \(quoted)") { _ in }
    }

    public func close() {
        closed = true
        if let reconnectTimer { reactor.cancel(reconnectTimer) }
        reconnectTimer = nil
        connection?.close()
        connection = nil
        for completion in pendingListens { completion?(.failure(PGError(.closed, "listener closed"))) }
        pendingListens.removeAll()
    }

    public var isListening: Bool { connection?.state == .ready }

    private var pendingListens: [((Result<Void, PGError>) -> Void)?] = []

    private func connect() {
        guard !closed, !connecting else { return }
        connecting = true
        PGConnection.connect(reactor: reactor, url: url) { [weak self] result in
            guard let self else { return }
            self.connecting = false
            switch result {
            case .success(let connection):
                guard !self.closed else { return connection.close() }
                self.attach(connection)
            case .failure(let error):
                self.logger.warning("database listener cannot connect", metadata: ["error": "\(error)"])
                self.scheduleReconnect()
            }
        }
    }

    private func attach(_ connection: PGConnection) {
        let isReconnection = reconnections > 0 || backoff > .zero
        self.connection = connection
        backoff = .zero
        connection.onNotification = { [weak self] notification in self?.handler(notification) }
        connection.onClose = { [weak self] error in
            guard let self, !self.closed else { return }
            self.logger.warning("database listener lost its connection", metadata: ["error": "\(error)"])
            self.connection = nil
            self.reconnections += 1
            self.scheduleReconnect()
        }
        let statements = channels.compactMap(PGListener.quoted).map { PGStatement("LISTEN \($0)") }
        let waiting = pendingListens
        pendingListens.removeAll()
        guard !statements.isEmpty else {
            for completion in waiting { completion?(.success(())) }
            if isReconnection { onReconnect?() }
            return
        }
        connection.batch(statements) { [weak self] result in
            for completion in waiting { completion?(result.map { _ in () }) }
            if case .success = result, isReconnection { self?.onReconnect?() }
        }
    }

    private func scheduleReconnect() {
        guard !closed, reconnectTimer == nil else { return }
        backoff = min(max(.milliseconds(100), backoff * 2), .seconds(5))
        reconnectTimer = reactor.schedule(after: backoff) { [weak self] in
            self?.reconnectTimer = nil
            self?.connect()
        }
    }

    static func quoted(_ channel: String) -> String? {
        let bytes = Array(channel.utf8)
        guard !bytes.isEmpty, bytes.count <= 63 else { return nil }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                continue
            default:
                return nil
            }
        }
        return "\"" + channel + "\""
    }
}
