// A connection under a stream layer: plaintext handed on in chunks from the
// loop's scratch arrives byte for byte, the layer's output is taken in place,
// and buffers the layer keeps for a busy stream are given back once it is quiet.
// The layer here is a real one of our own (XOR with a rolling key), not TLS:
// the reactor may not know OpenSSL.
import Foundation
import Reactor
import ReactorTesting
import Testing

/// XOR with a rolling key each way; keeps its output buffer between writes,
/// as TLS keeps its BIO buffer during a bulk transfer.
final class XORLayer: StreamLayer {
    private var inKey: UInt8 = 0x5A
    private var outKey: UInt8 = 0x5A
    private var output: [UInt8] = []
    private(set) var releases = 0
    private(set) var largestDelivery = 0

    func start() -> StreamLayerStatus { .established }

    func receive(_ bytes: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer,
                 deliver: (UnsafeRawBufferPointer) -> Bool) -> StreamLayerStatus {
        var offset = 0
        while offset < bytes.count {
            let count = min(scratch.count, bytes.count - offset)
            for index in 0..<count {
                scratch[index] = bytes[offset + index] ^ inKey
                inKey = inKey &* 31 &+ 7
            }
            largestDelivery = max(largestDelivery, count)
            guard deliver(UnsafeRawBufferPointer(rebasing: scratch[0..<count])) else { return .established }
            offset += count
        }
        return .established
    }

    func send(_ plaintext: UnsafeRawBufferPointer) {
        for byte in plaintext {
            output.append(byte ^ outKey)
            outKey = outKey &* 31 &+ 7
        }
    }

    func shutdown() {}

    func takeOutput(_ body: (UnsafeRawBufferPointer) -> Void) {
        guard !output.isEmpty else { return }
        output.withUnsafeBytes(body)
        output.removeAll(keepingCapacity: true)
    }

    var bufferedCapacity: Int { output.capacity }

    func releaseIdleBuffers() {
        releases += 1
        output = []
    }
}

@Suite struct LayerTests {
    struct Outcome: Sendable, Equatable {
        var identical: Bool
        var deliveriesFitTheScratch: Bool
        var quietCapacity: Int
        var released: Bool
    }

    @Test func layeredEchoIsByteIdenticalAndGivesItsBuffersBackWhenQuiet() throws {
        let payload = randomBytes(1 << 20, seed: 42)
        let outcome = try runReactor { (reactor, finish: @escaping (Outcome) -> Void) in
            var serverLayer: XORLayer?
            var server: Connection?
            let listener = try Listener(address: SocketAddress("127.0.0.1:0")!, reactor: reactor) { connection in
                let layer = XORLayer()
                serverLayer = layer
                server = connection
                connection.startLayer(layer)
                connection.onBytes = { [unowned connection] bytes in connection.write(bytes) }
            }
            reactor.connect(to: listener.address, timeout: .seconds(5)) { result in
                guard case .success(let client) = result else {
                    return finish(Outcome(identical: false, deliveriesFitTheScratch: false, quietCapacity: -1, released: false))
                }
                let clientLayer = XORLayer()
                client.startLayer(clientLayer)
                client.pausesReadingWhenBackpressured = false
                var received: [UInt8] = []
                client.onBytes = { bytes in
                    received.append(contentsOf: bytes)
                    guard received.count == payload.count, let serverLayer else { return }
                    // Quiet from here: wait (polling, no deadline asserted) for the release.
                    func check() {
                        if serverLayer.releases > 0 && clientLayer.releases > 0 {
                            _ = server
                            listener.close()
                            client.close()
                            return finish(Outcome(
                                identical: received == payload,
                                deliveriesFitTheScratch: max(serverLayer.largestDelivery, clientLayer.largestDelivery) <= 64 * 1024,
                                quietCapacity: serverLayer.bufferedCapacity + clientLayer.bufferedCapacity,
                                released: true))
                        }
                        reactor.schedule(after: .milliseconds(100)) { check() }
                    }
                    check()
                }
                client.write(payload)
            }
        }
        #expect(outcome == Outcome(identical: true, deliveriesFitTheScratch: true, quietCapacity: 0, released: true))
    }
}
