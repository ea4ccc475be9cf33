// Test support shared by the test targets that drive a real loop: a reactor
// on a thread of its own for one test, bounded by a deadline that stops the
// loop by itself, and the result the test hands back.
import Dispatch
import Foundation
import Reactor
import Synchronization

public struct HarnessTimeout: Error, CustomStringConvertible {
    public var description: String { "the test's reactor deadline passed" }
}

/// Builds a reactor on a new thread, calls `body` there, and returns what
/// `body` passes to its `finish` callback. The loop is stopped after `limit`.
public func runReactor<Value: Sendable>(
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
