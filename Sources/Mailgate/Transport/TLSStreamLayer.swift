// The reactor's StreamLayer over a TLSSession: ciphertext from the socket is fed
// in, plaintext comes out, and what OpenSSL wants sent is handed back. Lives in
// the service layer because neither Reactor nor TLS may know the other.
// Plaintext written before the handshake completes waits here and goes out
// once it does (a client may queue its first command early). Ciphertext is
// lent in and taken out in place; plaintext is decoded into the loop's scratch.
import Logging
import Reactor
import TLS

final class TLSStreamLayer: StreamLayer {
    let session: TLSSession
    private var pendingPlaintext: [UInt8] = []
    private var failure: String?

    init(session: TLSSession) {
        self.session = session
    }

    /// Puts a server TLS layer under `connection` (implicit TLS, or after STARTTLS) and keeps the
    /// socket read during the handshake. nil, with the reason logged and the connection closed,
    /// when no certificate is configured or OpenSSL refuses.
    static func startServer(on connection: Connection, context: TLSServerContext?, logger: Logger) -> TLSStreamLayer? {
        guard let context else {
            logger.error("cannot start TLS: no certificate configured")
            connection.close()
            return nil
        }
        do {
            let layer = TLSStreamLayer(session: try TLSSession(server: context))
            connection.resumeReading()
            connection.startLayer(layer)
            return layer
        } catch {
            logger.error("cannot start TLS", metadata: ["error": "\(error)"])
            connection.close()
            return nil
        }
    }

    func start() -> StreamLayerStatus {
        // A client speaks first; a server's first handshake() only says it waits.
        status(of: session.handshake())
    }

    func receive(_ bytes: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer,
                 deliver: (UnsafeRawBufferPointer) -> Bool) -> StreamLayerStatus {
        // Lent, not copied: the session reads the socket buffer in place.
        session.lending(bytes) { decrypt(into: scratch, deliver: deliver) }
    }

    /// Fills `scratch` with plaintext (several records: one write on the other
    /// side, not one per record) and hands it on each time it is full or the
    /// input runs out; a close or failure is reported after the bytes before it.
    private func decrypt(into scratch: UnsafeMutableRawBufferPointer,
                         deliver: (UnsafeRawBufferPointer) -> Bool) -> StreamLayerStatus {
        if !session.isEstablished {
            let handshake = status(of: session.handshake())
            guard handshake == .established else { return handshake }
            flushPendingPlaintext()
        }
        var filled = 0
        while true {
            let result = session.readPlaintext(into: UnsafeMutableRawBufferPointer(rebasing: scratch[filled...]))
            if case .bytes(let count) = result {
                filled += count
                guard filled == scratch.count else { continue }
            }
            if filled > 0 {
                guard deliver(UnsafeRawBufferPointer(rebasing: scratch[0..<filled])) else { return .established }
                filled = 0
            }
            switch result {
            case .bytes:
                continue
            case .wantsMore:
                return failure.map { .failed($0) } ?? .established
            case .closed:
                return .closed
            case .failed(let error):
                return .failed("\(error)")
            }
        }
    }

    func send(_ plaintext: UnsafeRawBufferPointer) {
        guard session.isEstablished else {
            pendingPlaintext.append(contentsOf: plaintext)
            return
        }
        write(plaintext)
    }

    func shutdown() {
        session.shutdown()
    }

    func takeOutput(_ body: (UnsafeRawBufferPointer) -> Void) {
        session.withPendingCiphertext(body)
    }

    var bufferedCapacity: Int { session.bufferedCapacity + pendingPlaintext.capacity }

    func releaseIdleBuffers() {
        session.releaseIdleBuffers()
    }

    private func status(of result: TLSSession.HandshakeResult) -> StreamLayerStatus {
        switch result {
        case .done:
            flushPendingPlaintext()
            return .established
        case .wantsMore:
            return .handshaking
        case .failed(let error):
            return .failed("\(error)")
        }
    }

    private func flushPendingPlaintext() {
        guard !pendingPlaintext.isEmpty else { return }
        let queued = pendingPlaintext
        pendingPlaintext = []
        queued.withUnsafeBytes { write($0) }
    }

    private func write(_ plaintext: UnsafeRawBufferPointer) {
        do {
            try session.writePlaintext(plaintext)
        } catch {
            // Reported by the next receive(); the connection then closes.
            failure = "\(error)"
        }
    }
}
