import CLinux
import Foundation
import Glibc
import MailCore
import Reactor
import ReactorTesting
import Synchronization
import Testing

@Suite struct ReactorTests {
    @Test func manyClientsEchoLargePayloadsByteForByte() throws {
        let clients = 50
        let payloadSize = 1 << 20
        let mismatches = try runReactor { (reactor, finish: @escaping (Int) -> Void) in
            var accepted: [Connection] = []
            let listener = try Listener(address: SocketAddress("127.0.0.1:0")!, reactor: reactor) { connection in
                accepted.append(connection)
                connection.onBytes = { [unowned connection] bytes in connection.write(bytes) }
            }
            var finished = 0
            var mismatches = 0
            var outgoing: [Connection] = []
            for index in 0..<clients {
                let payload = randomBytes(payloadSize, seed: UInt64(index + 1))
                reactor.connect(to: listener.address, timeout: .seconds(5)) { result in
                    guard case .success(let connection) = result else {
                        mismatches += 1
                        finished += 1
                        return
                    }
                    outgoing.append(connection)
                    connection.pausesReadingWhenBackpressured = false
                    var received: [UInt8] = []
                    received.reserveCapacity(payloadSize)
                    connection.onBytes = { bytes in
                        received.append(contentsOf: bytes)
                        if received.count >= payloadSize {
                            if received != payload { mismatches += 1 }
                            finished += 1
                            connection.close()
                            if finished == clients {
                                listener.close()
                                finish(mismatches)
                            }
                        }
                    }
                    connection.write(payload)
                }
            }
            _ = accepted
        }
        #expect(mismatches == 0)
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesNever() throws {
        let delays = [30, 5, 20, 0, 15, 25, 10, 5, 40, 35]
        let fired = try runReactor { (reactor, finish: @escaping ([Int]) -> Void) in
            var fired: [Int] = []
            for (index, delay) in delays.enumerated() {
                reactor.schedule(after: .milliseconds(delay)) { fired.append(index) }
            }
            let cancelled = reactor.schedule(after: .milliseconds(12)) { fired.append(-1) }
            reactor.cancel(cancelled)
            reactor.schedule(after: .milliseconds(60)) { finish(fired) }
        }
        let expected = delays.enumerated().sorted { ($0.element, $0.offset) < ($1.element, $1.offset) }.map(\.offset)
        #expect(fired == expected)
    }

    @Test func signalDeliveredToTheProcessReachesTheLoop() throws {
        // Standard signals do not queue: one still pending absorbs the next. So the
        // next signal is sent only once the loop has handled the previous one.
        let count = try runReactor { (reactor, finish: @escaping (Int) -> Void) in
            var received = 0
            try reactor.onSignal(SIGUSR2) {
                received += 1
                if received == 3 { return finish(received) }
                kill(getpid(), SIGUSR2)
            }
            reactor.schedule(after: .milliseconds(10)) { kill(getpid(), SIGUSR2) }
        }
        #expect(count == 3)
    }

    @Test func closedAndReusedDescriptorGetsNoStrayEvent() throws {
        let strayEvents = try runReactor { (reactor, finish: @escaping (Int) -> Void) in
            var first: [Int32] = [0, 0]
            var second: [Int32] = [0, 0]
            guard mg_pipe2(&first, O_NONBLOCK) == 0, mg_pipe2(&second, O_NONBLOCK) == 0 else {
                throw SystemError("pipe2")
            }
            // Both read ends are readable, so both events arrive in one epoll batch.
            _ = write(first[1], "x", 1)
            _ = write(second[1], "y", 1)
            var registrations: [Int32: Registration] = [:]
            var stray = 0
            var handled = false
            let onReady: (Int32) -> Void = { fd in
                guard !handled else { return }
                handled = true
                // Close the other readable pipe and reuse its descriptor number
                // for a new, empty pipe: the old event must not reach it.
                let other = fd == first[0] ? second[0] : first[0]
                reactor.unregister(registrations[other]!)
                close(other)
                var fresh: [Int32] = [0, 0]
                _ = mg_pipe2(&fresh, O_NONBLOCK)
                #expect(fresh[0] == other)
                _ = try? reactor.register(fd: fresh[0], interest: .read) { _ in stray += 1 }
                reactor.schedule(after: .milliseconds(50)) { finish(stray) }
            }
            registrations[first[0]] = try reactor.register(fd: first[0], interest: .read) { _ in onReady(first[0]) }
            registrations[second[0]] = try reactor.register(fd: second[0], interest: .read) { _ in onReady(second[0]) }
        }
        #expect(strayEvents == 0)
    }

    @Test func overlongLineIsRefusedNotBuffered() throws {
        struct Outcome: Sendable, Equatable {
            var reply: String
            var maxBuffered: Int
        }
        let outcome = try runReactor { (reactor, finish: @escaping (Outcome) -> Void) in
            var maxBuffered = 0
            var server: Connection?
            let listener = try Listener(address: SocketAddress("127.0.0.1:0")!, reactor: reactor) { connection in
                server = connection
                var framer = LineFramer(maxLineLength: 1000)
                connection.onBytes = { [unowned connection] bytes in
                    framer.append(bytes)
                    defer { maxBuffered = max(maxBuffered, framer.bufferedCount) }
                    while let frame = framer.next() {
                        switch frame {
                        case .line(let line, _): connection.write(Array("250 ".utf8) + line + [13, 10])
                        case .tooLong: connection.write(Array("500 5.5.2 Line too long\r\n".utf8))
                        }
                    }
                }
            }
            reactor.connect(to: listener.address, timeout: .seconds(5)) { result in
                guard case .success(let client) = result else { return finish(Outcome(reply: "connect failed", maxBuffered: 0)) }
                var reply: [UInt8] = []
                client.onBytes = { bytes in
                    reply.append(contentsOf: bytes)
                    if reply.suffix(2) == [13, 10], String(decoding: reply, as: UTF8.self).contains("250 ok") {
                        client.close()
                        _ = server
                        listener.close()
                        finish(Outcome(reply: String(decoding: reply, as: UTF8.self), maxBuffered: maxBuffered))
                    }
                }
                client.write([UInt8](repeating: 0x61, count: 5 << 20) + Array("\r\nok\r\n".utf8))
            }
        }
        #expect(outcome.reply == "500 5.5.2 Line too long\r\n250 ok\r\n")
        #expect(outcome.maxBuffered <= 1000)
    }

    @Test func halfClosedPeerIsToldOnceAndStillReceivesTheAnswer() throws {
        struct Outcome: Sendable, Equatable {
            var endOfInputCalls: Int
            var answer: String
        }
        let outcome = try runReactor { (reactor, finish: @escaping (Outcome) -> Void) in
            var server: Connection?
            var endOfInputCalls = 0
            var received: [UInt8] = []
            let listener = try Listener(address: SocketAddress("127.0.0.1:0")!, reactor: reactor) { connection in
                server = connection
                connection.onBytes = { bytes in received.append(contentsOf: bytes) }
                connection.onEndOfInput = { [unowned connection] in
                    endOfInputCalls += 1
                    // Answer later, as a session waiting on its database would: the loop must
                    // neither spin on the half-close nor report it again meanwhile.
                    reactor.schedule(after: .milliseconds(100)) {
                        connection.write(Array("got \(received.count) bytes\r\n".utf8))
                        connection.closeAfterFlush()
                    }
                }
            }
            reactor.connect(to: listener.address, timeout: .seconds(5)) { result in
                guard case .success(let client) = result else { return finish(Outcome(endOfInputCalls: 0, answer: "")) }
                var answer: [UInt8] = []
                client.onBytes = { bytes in answer.append(contentsOf: bytes) }
                client.onEndOfInput = {
                    client.close()
                    listener.close()
                    _ = server
                    finish(Outcome(endOfInputCalls: endOfInputCalls, answer: String(decoding: answer, as: UTF8.self)))
                }
                client.write(Array("QUIT\r\n".utf8))
                _ = shutdown(client.fd, Int32(SHUT_WR))
            }
        }
        #expect(outcome == Outcome(endOfInputCalls: 1, answer: "got 6 bytes\r\n"))
    }

    @Test func slowReaderBoundsQueuedOutput() throws {
        let maxQueued = try runReactor { (reactor, finish: @escaping (Int) -> Void) in
            var maxQueued = 0
            var echoed = 0
            let total = 32 << 20
            var server: Connection?
            let listener = try Listener(address: SocketAddress("127.0.0.1:0")!, reactor: reactor) { connection in
                server = connection
                connection.onBytes = { [unowned connection] bytes in
                    connection.write(bytes)
                    echoed += bytes.count
                    maxQueued = max(maxQueued, connection.queuedOutputCount)
                }
            }
            reactor.connect(to: listener.address, timeout: .seconds(5)) { result in
                guard case .success(let client) = result else { return finish(-1) }
                var received = 0
                client.pausesReadingWhenBackpressured = false
                client.pauseReading()
                // Start reading only once the server is held back (its queue passed high water),
                // and a while later: meanwhile it must read no more, however long that is.
                func resumeOnceTheServerIsHeldBack() {
                    guard server?.backpressured == true else {
                        reactor.schedule(after: .milliseconds(10)) { resumeOnceTheServerIsHeldBack() }
                        return
                    }
                    reactor.schedule(after: .milliseconds(100)) { client.resumeReading() }
                }
                resumeOnceTheServerIsHeldBack()
                client.onBytes = { bytes in
                    received += bytes.count
                    if received == total {
                        client.close()
                        server?.close()
                        listener.close()
                        finish(maxQueued)
                    }
                }
                client.write([UInt8](repeating: 7, count: total))
            }
        }
        #expect(maxQueued > 256 * 1024)
        #expect(maxQueued <= 256 * 1024 + 64 * 1024)
    }

    @Test func workPostedFromOtherThreadsAndOffloadedWorkComeBackToTheLoop() throws {
        let total = try runReactor { (reactor, finish: @escaping (Int) -> Void) in
            var sum = 0
            var arrivals = 0
            let arrive = { (value: Int) in
                sum += value
                arrivals += 1
                if arrivals == 200 { finish(sum) }
            }
            let channel = reactor.channel(arrive)
            for value in 1...100 {
                reactor.offload({ value * 2 }, then: arrive)
                Thread.detachNewThread { channel.send(value) }
            }
        }
        #expect(total == 3 * 5050)
    }
}
