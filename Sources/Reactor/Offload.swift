// Crossing into the loop from other threads without sharing loop state.
// Closures posted with `ReactorHandle.post` must be Sendable, so they cannot
// capture a session; instead a loop-side receiver is registered here by id and
// only the id and a Sendable value cross threads. `offload` runs blocking work
// (password hashing: yescrypt costs ~20 ms on purpose; name resolution) on a
// Dispatch queue and hands the result to a one-shot receiver; `channel` makes
// a long-lived one.
import Dispatch

final class ReceiverTable {
    private var receivers: [UInt64: (any Sendable) -> Void] = [:]
    private var nextID: UInt64 = 1

    func add(_ receiver: @escaping (any Sendable) -> Void) -> UInt64 {
        let id = nextID
        nextID += 1
        receivers[id] = receiver
        return id
    }

    func deliver(_ id: UInt64, _ value: any Sendable, once: Bool) {
        if once {
            receivers.removeValue(forKey: id)?(value)
        } else {
            receivers[id]?(value)
        }
    }

    func remove(_ id: UInt64) { receivers[id] = nil }
}

/// The sending end of a channel into a reactor; usable from any thread.
public struct LoopChannel<Value: Sendable>: Sendable {
    let handle: ReactorHandle
    let id: UInt64

    /// Delivers `value` to the receiver on the loop thread, soon.
    public func send(_ value: Value) {
        let id = self.id
        handle.post { reactor in reactor.receivers.deliver(id, value, once: false) }
    }

    /// Removes the receiver; values sent afterwards are dropped.
    public func close() {
        let id = self.id
        handle.post { reactor in reactor.receivers.remove(id) }
    }
}

extension Reactor {
    private static let workers = DispatchQueue(label: "mailgate.offload", attributes: .concurrent)

    /// Runs `work` on a worker thread, then `completion` with its result on
    /// this loop's thread.
    public func offload<Value: Sendable>(
        _ work: @escaping @Sendable () -> Value, then completion: @escaping (Value) -> Void
    ) {
        let id = receivers.add { value in
            if let value = value as? Value { completion(value) }
        }
        let handle = self.handle
        Reactor.workers.async {
            let value = work()
            handle.post { reactor in reactor.receivers.deliver(id, value, once: true) }
        }
    }

    /// A channel whose values `receive` handles on this loop's thread.
    public func channel<Value: Sendable>(_ receive: @escaping (Value) -> Void) -> LoopChannel<Value> {
        let id = receivers.add { value in
            if let value = value as? Value { receive(value) }
        }
        return LoopChannel(handle: handle, id: id)
    }
}
