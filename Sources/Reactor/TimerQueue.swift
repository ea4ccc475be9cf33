// The reactor's timers: a binary min-heap of deadlines with lazy
// cancellation. A cancelled timer's heap entry stays until it surfaces or the
// heap is compacted (when stale entries outnumber live ones), so cancel and
// re-arm (an idle timeout reset on every command) stay O(log n).

public struct TimerID: Hashable, Sendable {
    let value: UInt64
}

struct TimerQueue {
    private struct Entry {
        let deadline: UInt64
        let id: UInt64
    }

    private var heap: [Entry] = []
    private var callbacks: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 1

    var count: Int { callbacks.count }

    mutating func schedule(at deadline: UInt64, _ callback: @escaping () -> Void) -> TimerID {
        let id = nextID
        nextID += 1
        callbacks[id] = callback
        push(Entry(deadline: deadline, id: id))
        return TimerID(value: id)
    }

    mutating func cancel(_ timer: TimerID) {
        guard callbacks.removeValue(forKey: timer.value) != nil else { return }
        if heap.count > 64 && heap.count > 2 * callbacks.count { compact() }
    }

    /// The earliest live deadline, dropping cancelled entries on the way.
    mutating func nextDeadline() -> UInt64? {
        while let top = heap.first {
            if callbacks[top.id] != nil { return top.deadline }
            pop()
        }
        return nil
    }

    /// Removes and returns the callbacks due at `now`, in deadline order (ties
    /// in scheduling order).
    mutating func takeDue(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let top = heap.first, top.deadline <= now {
            pop()
            if let callback = callbacks.removeValue(forKey: top.id) { due.append(callback) }
        }
        return due
    }

    private mutating func compact() {
        let live = callbacks
        var kept = heap.filter { live[$0.id] != nil }
        kept.sort { a, b in a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id }
        heap = kept
    }

    private func precedes(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func pop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && precedes(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && precedes(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
