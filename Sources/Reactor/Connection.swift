// A connected, non-blocking TCP socket on the loop, optionally under a
// StreamLayer (TLS). Reads go through the loop's shared buffer and are handed
// to `onBytes` at once, so an idle connection holds no read buffer. Writes
// are queued when the socket is full; above `highWater` queued bytes reading
// stops until the queue drains below `lowWater`: the hard bound that keeps a
// slow peer from making us buffer a mailbox. A layer (TLS) decodes into the
// loop's scratch; its busy buffers go back on a timer. Callbacks may close.
import CLinux
import Glibc

public enum CloseReason: Equatable, Sendable {
    case local
    case peerClosed
    case failed(SystemError)
    case layerFailed(String)
}

public final class Connection {
    public let fd: Int32
    public let peer: SocketAddress
    private unowned let reactor: Reactor
    private var registration: Registration?
    private var outbound = ByteQueue()
    private var layer: StreamLayer?
    private var layerEstablished = false
    private var readingPaused = false
    /// The peer finished sending: nothing more is read (and `onEndOfInput` is not repeated).
    private var inputEnded = false
    private var closingAfterFlush = false
    private var layerReleaseScheduled = false
    /// Layer buffers above this many bytes are given back this long after they grew.
    static let quietLayerBufferLimit = 16 * 1024
    static let layerReleaseDelay: Duration = .seconds(2)
    public private(set) var isClosed = false

    /// Queued output above which reading stops, and below which it resumes.
    public var highWater = 256 * 1024
    public var lowWater = 64 * 1024
    /// Whether reading stops while the write queue is above highWater. Right
    /// for request/response servers (replies the peer does not take stop its
    /// commands); a client streaming a large upload while it reads turns it off.
    public var pausesReadingWhenBackpressured = true

    /// Plaintext received. The buffer is valid only during the call.
    public var onBytes: ((UnsafeRawBufferPointer) -> Void)?
    /// The peer finished sending (FIN or TLS close_notify). Unset: close.
    public var onEndOfInput: (() -> Void)?
    /// The stream layer completed its handshake.
    public var onSecured: (() -> Void)?
    /// Called once, when the connection is closed for any reason.
    public var onClosed: ((CloseReason) -> Void)?
    /// The write queue drained below `lowWater` (for proxies pausing a peer).
    public var onDrained: (() -> Void)?

    public init(fd: Int32, peer: SocketAddress, reactor: Reactor) throws(SystemError) {
        self.fd = fd
        self.peer = peer
        self.reactor = reactor
        try? Sys.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        registration = try reactor.register(fd: fd, interest: .read) { [unowned self] events in
            self.handle(events)
        }
    }

    deinit {
        if !isClosed { shut(.local) }
    }

    public var queuedOutputCount: Int { outbound.count }
    public var isSecured: Bool { layer != nil && layerEstablished }

    // MARK: Writing

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !closingAfterFlush, !bytes.isEmpty else { return }
        if let layer {
            layer.send(bytes)
            layer.takeOutput { enqueue($0) }
            scheduleLayerRelease()
        } else {
            enqueue(bytes)
        }
    }

    /// Sends what is queued, then closes.
    public func closeAfterFlush() {
        guard !isClosed, !closingAfterFlush else { return }
        layer?.shutdown()
        flushLayerOutput()
        closingAfterFlush = true
        if outbound.isEmpty { shut(.local) }
    }

    /// Closes at once; queued output is dropped.
    public func close() { shut(.local) }

    // MARK: Layers and flow

    /// Puts a layer (TLS) under the session from the next byte received on.
    /// Bytes the peer sent before are gone: the caller has already had them
    /// (and must discard any it did not use: STARTTLS injection).
    public func startLayer(_ newLayer: StreamLayer) {
        guard !isClosed else { return }
        layer = newLayer
        layerEstablished = false
        let status = newLayer.start()
        flushLayerOutput()
        apply(status)
    }

    public func pauseReading() {
        readingPaused = true
        updateInterest()
    }

    public func resumeReading() {
        readingPaused = false
        updateInterest()
    }

    // MARK: Events

    private func handle(_ events: IOEvents) {
        if events.contains(.writable) { flush() }
        guard !isClosed else { return }
        if events.contains(.hangup) {
            // Gone both ways (or reset): a read surfaces the error; after the end of input there
            // is nobody left to write to. Either way the level-triggered event must not spin.
            guard !inputEnded else { return shut(.peerClosed) }
            return readOnce()
        }
        if events.contains(.readable), !readingPaused, !inputEnded { readOnce() }
    }

    private func readOnce() {
        let buffer = reactor.readBuffer
        switch Sys.read(fd, buffer) {
        case .success(0):
            endOfInput()
        case .success(let count):
            deliver(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        case .failure(let error):
            if !error.isWouldBlock { shut(.failed(error)) }
        }
    }

    private func deliver(_ bytes: UnsafeRawBufferPointer) {
        guard let layer else {
            onBytes?(bytes)
            return
        }
        let status = reactor.withLayerBuffer { scratch in
            layer.receive(bytes, scratch: scratch) { plaintext in
                // Plaintext only comes once the handshake is done: announce it first.
                if !layerEstablished { secured() }
                guard !isClosed else { return false }
                onBytes?(plaintext)
                return !isClosed
            }
        }
        flushLayerOutput()
        if !isClosed { apply(status) }
        scheduleLayerRelease()
    }

    private func secured() {
        guard !layerEstablished, !isClosed else { return }
        flushLayerOutput()
        layerEstablished = true
        onSecured?()
    }

    /// Once per delay at most, a connection whose layer kept a big buffer gives it
    /// back; a busy stream just grows it again (one allocation per delay).
    private func scheduleLayerRelease() {
        guard !layerReleaseScheduled, !isClosed, let layer = self.layer,
              layer.bufferedCapacity > Self.quietLayerBufferLimit else { return }
        layerReleaseScheduled = true
        reactor.schedule(after: Self.layerReleaseDelay) { [weak self] in
            guard let self else { return }
            layerReleaseScheduled = false
            self.layer?.releaseIdleBuffers()
        }
    }

    private func apply(_ status: StreamLayerStatus) {
        switch status {
        case .handshaking:
            break
        case .established:
            secured()
        case .closed:
            endOfInput()
        case .failed(let reason):
            shut(.layerFailed(reason))
        }
    }

    private func endOfInput() {
        guard !isClosed else { return }
        guard let onEndOfInput else {
            shut(.peerClosed)
            return
        }
        inputEnded = true
        updateInterest()
        onEndOfInput()
    }

    private func flushLayerOutput() {
        layer?.takeOutput { enqueue($0) }
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !bytes.isEmpty else { return }
        var rest = bytes
        if outbound.isEmpty {
            switch Sys.send(fd, bytes) {
            case .success(let sent):
                rest = UnsafeRawBufferPointer(rebasing: bytes[sent...])
            case .failure(let error):
                guard error.isWouldBlock else {
                    shut(.failed(error))
                    return
                }
            }
        }
        if !rest.isEmpty {
            outbound.append(rest)
            updateInterest()
        }
    }

    private func flush() {
        while !outbound.isEmpty {
            let result = outbound.withReadableBytes { Sys.send(fd, $0) }
            switch result {
            case .success(let sent):
                outbound.consume(sent)
            case .failure(let error):
                if !error.isWouldBlock { shut(.failed(error)) }
                return
            }
        }
        if closingAfterFlush {
            shut(.local)
            return
        }
        let wasBackpressured = backpressured
        updateInterest()
        if wasBackpressured && !backpressured { onDrained?() }
    }

    private func updateInterest() {
        guard let registration, !isClosed else { return }
        if outbound.count > highWater {
            backpressured = true
        } else if outbound.count <= lowWater {
            backpressured = false
        }
        var interest: Interest = []
        let heldBack = backpressured && pausesReadingWhenBackpressured
        if !readingPaused && !heldBack && !closingAfterFlush && !inputEnded { interest.insert(.read) }
        if !outbound.isEmpty { interest.insert(.write) }
        reactor.modify(registration, interest: interest)
    }

    /// True from the moment the queue passes highWater until it drains to lowWater.
    public private(set) var backpressured = false

    private func shut(_ reason: CloseReason) {
        guard !isClosed else { return }
        isClosed = true
        if let registration { reactor.unregister(registration) }
        registration = nil
        Sys.close(fd)
        outbound = ByteQueue()
        layer = nil
        let onClosed = self.onClosed
        clearCallbacks()
        onClosed?(reason)
    }

    /// Drops the callbacks so closures that captured their session do not keep it alive.
    private func clearCallbacks() {
        onBytes = nil
        onEndOfInput = nil
        onSecured = nil
        onClosed = nil
        onDrained = nil
    }
}

/// A FIFO of bytes with a read offset, compacted as it drains.
struct ByteQueue {
    private var storage: [UInt8] = []
    private var start = 0

    var count: Int { storage.count - start }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start >= storage.count / 2 {
            storage.removeFirst(start)
            start = 0
        }
        storage.append(contentsOf: bytes)
    }

    func withReadableBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }

    mutating func consume(_ count: Int) {
        start += count
        if start == storage.count {
            storage = []
            start = 0
        }
    }
}
