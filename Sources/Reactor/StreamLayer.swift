// A layer between a socket and its session, such as TLS: ciphertext from the
// socket goes in, plaintext comes out, and the reverse. The Connection drives
// it; the TLS module implements it. Kept here so the reactor needs no OpenSSL.
// Bytes cross in place (valid only during the call): nothing allocated per read.

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
    /// Bytes read from the socket. Plaintext is decoded into `scratch` and handed
    /// to `deliver` whenever it fills or the input runs out; `deliver` returns
    /// false to stop (the connection closed). Plaintext comes before the status
    /// that follows it (.closed, .failed).
    func receive(_ bytes: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer,
                 deliver: (UnsafeRawBufferPointer) -> Bool) -> StreamLayerStatus
    /// Plaintext to send once established.
    func send(_ plaintext: UnsafeRawBufferPointer)
    /// Queues the layer's own goodbye (TLS close_notify).
    func shutdown()
    /// Hands the bytes the layer wants written to the socket to `body` in place
    /// and drops them: `body` sends or copies all of them. Not called when none.
    func takeOutput(_ body: (UnsafeRawBufferPointer) -> Void)
    /// Bytes of buffer the layer keeps between calls.
    var bufferedCapacity: Int { get }
    /// The stream went quiet: give back buffers kept for a busy stream.
    func releaseIdleBuffers()
}
