// The reactor's StreamLayer over a TLSSession: ciphertext from the socket is fed
// in, plaintext comes out, and what OpenSSL wants sent is handed back. Lives in
// the service layer because neither Reactor nor TLS may know the other.
// Plaintext written before the handshake completes waits here and goes out
// once it does (a client may queue its first command early).
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

    func receive(_ bytes: UnsafeRawBufferPointer, plaintext: inout [UInt8]) -> StreamLayerStatus {
        // Lent, not copied: the session reads the socket buffer in place.
        session.lending(bytes) { decrypt(plaintext: &plaintext) }
    }

    private func decrypt(plaintext: inout [UInt8]) -> StreamLayerStatus {
        if !session.isEstablished {
            let handshake = status(of: session.handshake())
            guard handshake == .established else { return handshake }
            flushPendingPlaintext()
        }
        switch session.readPlaintext(into: &plaintext, max: Int.max) {
        case .bytes, .wantsMore:
            return failure.map { .failed($0) } ?? .established
        case .closed:
            return .closed
        case .failed(let error):
            return .failed("\(error)")
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

    func takeOutput() -> [UInt8] {
        session.takeCiphertext()
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
