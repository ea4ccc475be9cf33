// /health's database half: healthy when a `SELECT 1` through the pool
// succeeded within the last `freshness`; otherwise one probe is sent (never
// more than one at a time, whoever asks) and the askers hear its answer, or
// "did not answer" after `deadline`. The listener half is the server's to say.
// Loop-confined.
import Postgres
import Reactor

final class HealthCheck {
    static let freshness: Duration = .seconds(2)
    static let deadline: Duration = .seconds(3)

    private unowned let reactor: Reactor
    private let pool: PGPool
    private var lastSuccess: UInt64?
    private var probing = false
    private var waiters: [(String?) -> Void] = []
    private var timer: TimerID?

    init(reactor: Reactor, pool: PGPool) {
        self.reactor = reactor
        self.pool = pool
    }

    /// nil when the database answered recently enough, else what is wrong; `done` runs on the loop.
    func databaseProblem(_ done: @escaping (String?) -> Void) {
        if let lastSuccess, reactor.now &- lastSuccess < MetricsCollector.nanoseconds(Self.freshness) {
            return done(nil)
        }
        waiters.append(done)
        if timer == nil {
            timer = reactor.schedule(after: Self.deadline) { [weak self] in
                self?.timer = nil
                self?.answer("database did not answer within \(Self.deadline)")
            }
        }
        guard !probing else { return }
        probing = true
        pool.query("SELECT 1") { [weak self] result in
            guard let self else { return }
            self.probing = false
            switch result {
            case .success:
                self.lastSuccess = self.reactor.now
                self.answer(nil)
            case .failure(let error):
                self.answer("database unreachable: \(error)")
            }
        }
    }

    private func answer(_ problem: String?) {
        if let timer { reactor.cancel(timer) }
        timer = nil
        let answered = waiters
        waiters = []
        for waiter in answered { waiter(problem) }
    }
}
