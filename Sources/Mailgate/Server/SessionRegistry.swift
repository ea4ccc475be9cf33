// Every open client session of the process, so SIGTERM can drain them: each
// is asked to finish what it is doing and close; those still open at the
// deadline are closed hard. Sessions remove themselves when they end.

protocol DrainableSession: AnyObject {
    /// Finish the transaction in flight (if any), say goodbye, close.
    func drain()
    /// Close now.
    func abort()
}

final class SessionRegistry {
    private var sessions: [ObjectIdentifier: DrainableSession] = [:]
    private var onEmpty: (() -> Void)?

    var count: Int { sessions.count }

    func add(_ session: DrainableSession) {
        sessions[ObjectIdentifier(session)] = session
    }

    func remove(_ session: DrainableSession) {
        sessions[ObjectIdentifier(session)] = nil
        if sessions.isEmpty, let onEmpty {
            self.onEmpty = nil
            onEmpty()
        }
    }

    /// Asks every session to drain; `done` runs once none is left.
    func drainAll(then done: @escaping () -> Void) {
        guard !sessions.isEmpty else { return done() }
        onEmpty = done
        for session in Array(sessions.values) { session.drain() }
    }

    func abortAll() {
        for session in Array(sessions.values) { session.abort() }
    }
}
