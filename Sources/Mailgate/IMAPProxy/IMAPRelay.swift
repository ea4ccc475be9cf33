// After login: bytes both ways between the client and the upstream, unparsed
// (IDLE, literals, LITERAL+ and large APPENDs/FETCHes just pass through).
// Backpressure crosses over: when one side's write queue passes its high
// water, the other side stops being read until that queue drains (onDrained),
// so a slow reader bounds what we hold to about highWater plus one read per
// direction. Half-close: client EOF -> flush to upstream, close it, then flush
// to the client and close; upstream EOF -> flush to the client, then close.
import Reactor

final class IMAPRelay {
    private let client: Connection
    private let upstream: Connection
    private unowned let reactor: Reactor
    private(set) var bytesFromClient = 0
    private(set) var bytesToClient = 0
    /// Monotonic time of the last byte moved either way.
    private(set) var lastActivity: UInt64
    private var clientEnded = false
    private var upstreamEnded = false
    /// Why the relay ends, fixed by the first side to stop.
    private(set) var endReason: String?
    private var onFinished: (() -> Void)?

    init(client: Connection, upstream: Connection, reactor: Reactor) {
        self.client = client
        self.upstream = upstream
        self.reactor = reactor
        lastActivity = reactor.now
    }

    var isFinished: Bool { client.isClosed && upstream.isClosed }

    /// Takes over both connections' callbacks. `pendingClientBytes` go
    /// upstream first and `pendingServerBytes` to the client; `onFinished`
    /// runs once, when both connections are closed.
    func start(pendingClientBytes: [UInt8], pendingServerBytes: [UInt8], onFinished: @escaping () -> Void) {
        self.onFinished = onFinished
        for connection in [client, upstream] {
            // Pausing is done across: a full queue stops the *other* side.
            connection.pausesReadingWhenBackpressured = false
        }
        client.onBytes = { [unowned self] bytes in self.fromClient(bytes) }
        upstream.onBytes = { [unowned self] bytes in self.fromUpstream(bytes) }
        client.onEndOfInput = { [unowned self] in self.clientFinishedSending() }
        upstream.onEndOfInput = { [unowned self] in self.upstreamFinishedSending() }
        client.onDrained = { [unowned self] in if !self.upstreamEnded { self.upstream.resumeReading() } }
        upstream.onDrained = { [unowned self] in if !self.clientEnded { self.client.resumeReading() } }
        client.onClosed = { [unowned self] reason in self.closed(client: true, reason) }
        upstream.onClosed = { [unowned self] reason in self.closed(client: false, reason) }
        client.onSecured = nil
        upstream.onSecured = nil
        pendingServerBytes.withUnsafeBytes { fromUpstream($0) }
        pendingClientBytes.withUnsafeBytes { fromClient($0) }
        if !client.isClosed && !client.backpressured { upstream.resumeReading() }
        if !upstream.isClosed && !upstream.backpressured { client.resumeReading() }
    }

    /// Closes both sides at once (idle timeout, drain deadline).
    func abort(reason: String) {
        if endReason == nil { endReason = reason }
        client.close()
        upstream.close()
    }

    // MARK: Data

    private func fromClient(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        lastActivity = reactor.now
        bytesFromClient += bytes.count
        MailgateMetrics.imapBytes(fromClient: bytes.count)
        upstream.write(bytes)
        if upstream.backpressured { client.pauseReading() }
    }

    private func fromUpstream(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        lastActivity = reactor.now
        bytesToClient += bytes.count
        MailgateMetrics.imapBytes(toClient: bytes.count)
        client.write(bytes)
        if client.backpressured { upstream.pauseReading() }
    }

    // MARK: Ends

    private func clientFinishedSending() {
        guard !clientEnded else { return }
        clientEnded = true
        if endReason == nil { endReason = "client closed" }
        upstream.closeAfterFlush()
    }

    private func upstreamFinishedSending() {
        guard !upstreamEnded else { return }
        upstreamEnded = true
        if endReason == nil { endReason = "upstream closed" }
        client.closeAfterFlush()
        upstream.close()
    }

    private func closed(client isClient: Bool, _ reason: CloseReason) {
        if endReason == nil {
            let side = isClient ? "client" : "upstream"
            switch reason {
            case .local: endReason = "\(side) closed locally"
            case .peerClosed: endReason = "\(side) closed"
            case .failed(let error): endReason = "\(side) failed: \(error)"
            case .layerFailed(let why): endReason = "\(side) TLS failed: \(why)"
            }
        }
        // The surviving side gets what is already queued for it, then closes.
        if isClient { upstream.closeAfterFlush() } else { client.closeAfterFlush() }
        if client.isClosed && upstream.isClosed, let onFinished {
            self.onFinished = nil
            onFinished()
        }
    }
}
