// The session's ciphertext buffers on the bulk path: lent input is read in place
// and split records survive the loan, pending output is handed over in place,
// a bulk transfer holds a bounded buffer, small talk holds none, and the
// buffers go back when the owner says the session is idle.
import Testing
@testable import TLS

@Suite struct BufferTests {
    /// Relays `payload` from `sender` to `receiver` the way a proxy does: 64 KiB
    /// plaintext writes, ciphertext handed over in place in `chunk`-byte pieces
    /// lent to the receiver. Returns the plaintext received and the largest
    /// buffer either session held along the way.
    private func relay(_ payload: [UInt8], from sender: TLSSession, to receiver: TLSSession, chunk: Int)
        throws -> (received: [UInt8], peakCapacity: Int) {
        var received: [UInt8] = []
        var peak = 0
        var offset = 0
        while offset < payload.count {
            let end = min(offset + 64 * 1024, payload.count)
            offset += try sender.writePlaintext(payload[offset..<end])
            peak = max(peak, sender.bufferedCapacity)
            sender.withPendingCiphertext { wire in
                var start = 0
                while start < wire.count {
                    let piece = UnsafeRawBufferPointer(rebasing: wire[start..<min(start + chunk, wire.count)])
                    receiver.lending(piece) { _ = drain(receiver, into: &received) }
                    peak = max(peak, receiver.bufferedCapacity)
                    start += piece.count
                }
            }
        }
        return (received, peak)
    }

    @Test(arguments: [1, 5, 1000, 16 * 1024 + 22, 64 * 1024])
    func lentCiphertextInAnyPiecesArrivesByteIdentical(chunk: Int) throws {
        let (client, server) = try establishedPair()
        let payload = pseudoRandomBytes(count: chunk < 100 ? 40_000 : 300_000, seed: UInt64(chunk))
        let (received, _) = try relay(payload, from: server, to: client, chunk: chunk)
        #expect(received == payload)
    }

    @Test func aBulkTransferHoldsABoundedBuffer() throws {
        let (client, server) = try establishedPair()
        let payload = pseudoRandomBytes(count: 8 << 20, seed: 11)
        let (_, peak) = try relay(payload, from: server, to: client, chunk: 64 * 1024)
        // One 64 KiB write of records, rounded up to a power of two, and OpenSSL's
        // record buffers: not the 8 MiB sent.
        #expect(peak <= 2 * 64 * 1024 + TLSSession.recordBuffersEstimate)
    }

    @Test func releaseIdleBuffersFreesEverythingAfterABulkTransfer() throws {
        let (client, server) = try establishedPair()
        _ = try relay(pseudoRandomBytes(count: 1 << 20, seed: 12), from: server, to: client, chunk: 64 * 1024)
        server.releaseIdleBuffers()
        client.releaseIdleBuffers()
        #expect(server.bufferedCapacity + client.bufferedCapacity == 0)
    }

    @Test func smallExchangesKeepNoBuffersAtAll() throws {
        let (client, server) = try establishedPair()
        for line in ["a LOGIN x y\r\n", "b SELECT INBOX\r\n", "c IDLE\r\n"] {
            _ = try relay(Array(line.utf8), from: client, to: server, chunk: 64 * 1024)
            _ = try relay(Array("* OK\r\n".utf8), from: server, to: client, chunk: 64 * 1024)
        }
        #expect(client.bufferedCapacity + server.bufferedCapacity == 0)
    }

    @Test func recordBuffersAreKeptForABulkTransferUntilReleased() throws {
        let (client, server) = try establishedPair()
        _ = try relay(pseudoRandomBytes(count: 1 << 20, seed: 16), from: server, to: client, chunk: 64 * 1024)
        let during = client.bufferedCapacity
        client.releaseIdleBuffers()
        #expect(during >= TLSSession.recordBuffersEstimate && client.bufferedCapacity == 0)
    }

    @Test func theInputBufferDoesNotOutliveAFedBurst() throws {
        let (client, server) = try establishedPair()
        try server.writePlaintext(pseudoRandomBytes(count: 200_000, seed: 14))
        client.feed(server.takeCiphertext())  // copied into the input buffer
        var received: [UInt8] = []
        drain(client, into: &received)
        #expect(received.count == 200_000
            && client.bufferedCapacity <= TLSSession.recordBuffersEstimate)
    }

    @Test func withPendingCiphertextHandsOverEverythingOnce() throws {
        let (client, server) = try establishedPair()
        try client.writePlaintext(pseudoRandomBytes(count: 50_000, seed: 15))
        let pending = client.pendingCiphertextCount
        let handed = client.withPendingCiphertext { wire in
            server.feed(wire)
            return wire.count
        }
        let again = client.withPendingCiphertext { $0.count }
        #expect(handed == pending && again == nil && client.pendingCiphertextCount == 0)
    }

    @Test func bytesLentAfterEndOfInputAreIgnored() throws {
        let (client, server) = try establishedPair()
        try server.writePlaintext(Array("late".utf8))
        let wire = server.takeCiphertext()
        client.feedEndOfInput()
        var received: [UInt8] = []
        let result = wire.withUnsafeBytes { bytes in
            client.lending(bytes) { drain(client, into: &received) }
        }
        #expect(received.isEmpty && isUnexpectedEOF(result))
    }

    private func isUnexpectedEOF(_ result: TLSSession.ReadResult) -> Bool {
        if case .failed(let error) = result { return error.code == .unexpectedEOF }
        return false
    }
}
