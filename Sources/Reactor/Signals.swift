// Signals into the loop. A sigaction handler (C, async-signal-safe) writes
// the signal number to a non-blocking pipe that the loop watches, so handlers
// run on the loop thread as ordinary callbacks. Chosen over signalfd because
// signalfd only sees signals blocked in every thread, and Swift's runtime and
// dispatch start threads whose masks we do not control (FIELD-NOTES).
// One router per process: the C handler has a single pipe.
import CLinux
import Glibc

final class SignalRouter {
    private let readFD: Int32
    private let writeFD: Int32
    private var handlers: [Int32: () -> Void] = [:]
    private var registration: Registration?

    init(reactor: Reactor) throws(SystemError) {
        var fds: [Int32] = [0, 0]
        guard mg_pipe2(&fds, O_NONBLOCK | O_CLOEXEC) == 0 else { throw SystemError("pipe2") }
        readFD = fds[0]
        writeFD = fds[1]
        registration = try reactor.register(fd: readFD, interest: .read) { [unowned self] _ in self.drain() }
    }

    func route(_ signal: Int32, to handler: @escaping () -> Void) throws(SystemError) {
        handlers[signal] = handler
        guard mg_route_signal_to_fd(signal, writeFD) == 0 else { throw SystemError("sigaction") }
    }

    func restore() {
        for signal in handlers.keys { _ = mg_restore_signal(signal) }
        Sys.close(readFD)
        Sys.close(writeFD)
    }

    private func drain() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while true {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(readFD, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            for byte in bytes[0..<count] { handlers[Int32(byte)]?() }
        }
    }
}

extension Reactor {
    /// Runs `handler` on the loop whenever the process receives `signal`.
    public func onSignal(_ signal: Int32, _ handler: @escaping () -> Void) throws(SystemError) {
        if signalRouter == nil { signalRouter = try SignalRouter(reactor: self) }
        try signalRouter?.route(signal, to: handler)
    }

    /// SIGPIPE is ignored process-wide: writes to a vanished peer return EPIPE.
    public static func ignoreSIGPIPE() { _ = mg_ignore_sigpipe() }
}
