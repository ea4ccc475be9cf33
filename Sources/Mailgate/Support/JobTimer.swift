// The timer of a background job (retention, relayed archive, account watch):
// `schedule(after:)` arms it for one run of `action`, which arms it again when
// it is done; `stop()` (SIGTERM) cancels it for good. Loop thread only.
import Reactor

final class JobTimer {
    private unowned let reactor: Reactor
    private let action: () -> Void
    private var timer: TimerID?
    private(set) var isStopped = false

    init(reactor: Reactor, action: @escaping () -> Void) {
        self.reactor = reactor
        self.action = action
    }

    /// Runs `action` once after `delay`, replacing any run already armed; nothing once stopped.
    func schedule(after delay: Duration) {
        guard !isStopped else { return }
        if let timer { reactor.cancel(timer) }
        timer = reactor.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.action()
        }
    }

    func stop() {
        isStopped = true
        if let timer { reactor.cancel(timer) }
        timer = nil
    }
}
