// The event loop: one thread, one epoll set, every descriptor of the process.
//
// Design. Sessions are callbacks into pure state machines, not async tasks:
// the loop reads a socket, feeds the bytes to the session's machine, and
// carries out the actions it returns (write, start TLS, query the database,
// close). A machine is a value with no I/O, so it is tested without sockets;
// an idle session costs its machine, its small buffers and one table slot —
// no task, no stack, no continuation — which is how 10,000 idle connections
// fit in a few hundred MB at most. Level-triggered epoll; the user data packs
// a registration generation beside the fd, so an event for a descriptor that
// was closed and reused in the same batch is dropped. Timers are a heap
// consulted for epoll_wait's timeout. Other threads (password hashing, DNS)
// hand results back through `ReactorHandle.post`, which wakes the loop with an
// eventfd. Signals arrive through a self-pipe (see Signals.swift).
import CLinux
import Glibc
import Synchronization

public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let read = Interest(rawValue: 1)
    public static let write = Interest(rawValue: 2)
}

public struct IOEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = IOEvents(rawValue: 1)
    public static let writable = IOEvents(rawValue: 2)
    /// The connection is gone both ways or failed (EPOLLHUP, EPOLLERR: reported whatever the
    /// interest, level-triggered); a read tells which. A half-close (the peer's FIN) is not a
    /// hangup: it shows as readable, and read returns 0.
    public static let hangup = IOEvents(rawValue: 4)
}

public struct Registration: Hashable, Sendable {
    public let fd: Int32
    let generation: UInt32
}

public final class Reactor {
    private struct Slot {
        let generation: UInt32
        var interest: Interest
        let handler: (IOEvents) -> Void
    }

    private let epollFD: Int32
    private let inbox: Inbox
    private var slots: [Slot?] = []
    private var generation: UInt32 = 0
    private var timers = TimerQueue()
    private var running = false
    private var stopRequested = false
    private var events: UnsafeMutablePointer<epoll_event>
    private let maxEvents = 256
    var signalRouter: SignalRouter?
    let receivers = ReceiverTable()

    /// Scratch space for reads, shared by every connection of this loop: an
    /// idle connection holds no read buffer of its own.
    public let readBuffer: UnsafeMutableRawBufferPointer
    /// Scratch space a stream layer decodes into (TLS plaintext), shared the same way.
    private let layerBuffer: UnsafeMutableRawBufferPointer
    private var layerBufferInUse = false

    /// Posts work to this loop from any thread.
    public var handle: ReactorHandle { ReactorHandle(inbox: inbox) }

    public init() throws(SystemError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SystemError("epoll_create1") }
        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            Sys.close(fd)
            throw SystemError("eventfd")
        }
        epollFD = fd
        inbox = Inbox(wakeFD: wakeFD)
        events = .allocate(capacity: maxEvents)
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        layerBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        _ = try register(fd: wakeFD, interest: .read) { [unowned self] _ in self.drainInbox() }
    }

    deinit {
        signalRouter?.restore()
        Sys.close(epollFD)
        Sys.close(inbox.wakeFD)
        events.deallocate()
        readBuffer.deallocate()
        layerBuffer.deallocate()
    }

    /// Runs `body` with the loop's layer scratch (64 KiB), or with a temporary one
    /// if a caller up the stack already has it.
    public func withLayerBuffer<Result>(_ body: (UnsafeMutableRawBufferPointer) -> Result) -> Result {
        guard !layerBufferInUse else {
            return withUnsafeTemporaryAllocation(byteCount: layerBuffer.count, alignment: 16, body)
        }
        layerBufferInUse = true
        defer { layerBufferInUse = false }
        return body(layerBuffer)
    }

    // MARK: Descriptors

    /// Watches `fd`. The caller keeps the descriptor open until it has called
    /// `unregister`, and unregisters before closing.
    public func register(fd: Int32, interest: Interest, handler: @escaping (IOEvents) -> Void)
        throws(SystemError) -> Registration
    {
        generation &+= 1
        let registration = Registration(fd: fd, generation: generation)
        var event = epoll_event(events: epollMask(interest), data: epoll_data_t(u64: packed(registration)))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else { throw SystemError("epoll_ctl add") }
        let index = Int(fd)
        if index >= slots.count { slots.append(contentsOf: repeatElement(nil, count: index - slots.count + 64)) }
        slots[index] = Slot(generation: generation, interest: interest, handler: handler)
        return registration
    }

    public func modify(_ registration: Registration, interest: Interest) {
        guard var slot = liveSlot(registration), slot.interest != interest else { return }
        var event = epoll_event(events: epollMask(interest), data: epoll_data_t(u64: packed(registration)))
        if epoll_ctl(epollFD, EPOLL_CTL_MOD, registration.fd, &event) == 0 {
            slot.interest = interest
            slots[Int(registration.fd)] = slot
        }
    }

    public func unregister(_ registration: Registration) {
        guard liveSlot(registration) != nil else { return }
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, registration.fd, nil)
        slots[Int(registration.fd)] = nil
    }

    public var registeredCount: Int { slots.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    private func liveSlot(_ registration: Registration) -> Slot? {
        let index = Int(registration.fd)
        guard index >= 0, index < slots.count, let slot = slots[index], slot.generation == registration.generation
        else { return nil }
        return slot
    }

    private func packed(_ registration: Registration) -> UInt64 {
        UInt64(registration.generation) << 32 | UInt64(UInt32(bitPattern: registration.fd))
    }

    private func epollMask(_ interest: Interest) -> UInt32 {
        var mask: UInt32 = 0
        if interest.contains(.read) { mask |= UInt32(MG_EPOLLIN) }
        if interest.contains(.write) { mask |= UInt32(MG_EPOLLOUT) }
        return mask
    }

    // MARK: Timers

    public var now: UInt64 { monotonicNanoseconds() }

    @discardableResult
    public func schedule(after duration: Duration, _ callback: @escaping () -> Void) -> TimerID {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, seconds) &* 1_000_000_000 &+ max(0, attoseconds / 1_000_000_000)
        return timers.schedule(at: monotonicNanoseconds() &+ UInt64(nanoseconds), callback)
    }

    public func cancel(_ timer: TimerID) { timers.cancel(timer) }

    public var pendingTimerCount: Int { timers.count }

    // MARK: Running

    /// Runs until `stop()`: waits for events, dispatches them, fires due
    /// timers, runs posted work.
    public func run() {
        running = true
        stopRequested = false
        defer { running = false }
        while !stopRequested {
            let count = epoll_wait(epollFD, events, Int32(maxEvents), waitTimeout())
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait: \(SystemError("epoll_wait"))")
            }
            for index in 0..<Int(count) { dispatch(events[index]) }
            for callback in timers.takeDue(now: monotonicNanoseconds()) { callback() }
        }
    }

    public func stop() { stopRequested = true }

    private func waitTimeout() -> Int32 {
        guard let deadline = timers.nextDeadline() else { return -1 }
        let now = monotonicNanoseconds()
        guard deadline > now else { return 0 }
        // Round up so a timer never fires early.
        let milliseconds = (deadline - now + 999_999) / 1_000_000
        return Int32(min(milliseconds, UInt64(Int32.max)))
    }

    private func dispatch(_ event: epoll_event) {
        let data = event.data.u64
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: data))
        let registration = Registration(fd: fd, generation: UInt32(truncatingIfNeeded: data >> 32))
        guard let slot = liveSlot(registration) else { return }
        var ready: IOEvents = []
        if event.events & UInt32(MG_EPOLLIN) != 0 { ready.insert(.readable) }
        if event.events & UInt32(MG_EPOLLOUT) != 0 { ready.insert(.writable) }
        if event.events & UInt32(MG_EPOLLERR | MG_EPOLLHUP) != 0 { ready.insert(.hangup) }
        slot.handler(ready)
    }

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = Glibc.read(inbox.wakeFD, &counter, 8)
        for job in inbox.takeAll() { job(self) }
    }
}

/// Sendable door into a reactor from other threads.
public struct ReactorHandle: Sendable {
    let inbox: Inbox

    /// Runs `work` on the loop's thread, soon. Safe from any thread.
    public func post(_ work: @escaping @Sendable (Reactor) -> Void) { inbox.post(work) }
}

final class Inbox: Sendable {
    let wakeFD: Int32
    private let jobs = Mutex<[@Sendable (Reactor) -> Void]>([])

    init(wakeFD: Int32) { self.wakeFD = wakeFD }

    func post(_ job: @escaping @Sendable (Reactor) -> Void) {
        let wasEmpty = jobs.withLock { jobs in
            jobs.append(job)
            return jobs.count == 1
        }
        if wasEmpty {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    func takeAll() -> [@Sendable (Reactor) -> Void] {
        jobs.withLock { jobs in
            defer { jobs.removeAll(keepingCapacity: true) }
            return jobs
        }
    }
}
