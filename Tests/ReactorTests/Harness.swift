// Runs a reactor on a thread of its own for one test and waits for the
// result, bounded by a deadline that stops the loop on its own.
import Dispatch
import Foundation
import Reactor
import Synchronization
import Testing

struct HarnessTimeout: Error {}

/// Builds a reactor on a new thread, calls `body` there, and returns what
/// `body` passes to its `finish` callback. The loop is stopped after `limit`.
func runReactor<Value: Sendable>(
    limit: Duration = .seconds(60),
    _ body: @escaping @Sendable (Reactor, @escaping (Value) -> Void) throws -> Void
) throws -> Value {
    let result = Mutex<Result<Value, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        do {
            let reactor = try Reactor()
            reactor.schedule(after: limit) {
                result.withLock { if $0 == nil { $0 = .failure(HarnessTimeout()) } }
                reactor.stop()
            }
            try body(reactor) { value in
                result.withLock { if $0 == nil { $0 = .success(value) } }
                reactor.stop()
            }
            reactor.run()
        } catch {
            result.withLock { if $0 == nil { $0 = .failure(error) } }
        }
        done.signal()
    }
    thread.stackSize = 4 << 20
    thread.start()
    done.wait()
    return try result.withLock { $0! }.get()
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
