// A layer between a socket and its session, such as TLS: ciphertext from the
// socket goes in, plaintext comes out, and the reverse. The Connection drives
// it; the TLS module implements it. Kept here so the reactor needs no OpenSSL.

public enum StreamLayerStatus: Equatable, Sendable {
    case handshaking
    case established
    /// The peer ended the layer cleanly (TLS close_notify).
    case closed
    case failed(String)
}

public protocol StreamLayer: AnyObject {
    /// Begins the layer (a TLS client queues its ClientHello).
    func start() -> StreamLayerStatus
    /// Bytes read from the socket; decoded plaintext is appended to `plaintext`.
    func receive(_ bytes: UnsafeRawBufferPointer, plaintext: inout [UInt8]) -> StreamLayerStatus
    /// Plaintext to send once established.
    func send(_ plaintext: UnsafeRawBufferPointer)
    /// Queues the layer's own goodbye (TLS close_notify).
    func shutdown()
    /// Bytes the layer wants written to the socket, emptied by the call.
    func takeOutput() -> [UInt8]
}
