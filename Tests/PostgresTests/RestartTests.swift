// A server restart on a private cluster: work in flight (and queued behind
// it) fails with kind .connectionLost, the pool's next query succeeds on a
// fresh session, and the listener LISTENs again and hears a new NOTIFY.
import Foundation
import Postgres
import Reactor
import ReactorTesting
import Testing

@Suite(.serialized) struct RestartTests {
    struct Outcome: Sendable {
        var restarted = false
        var poolInFlight: PGError?
        var connectionInFlight: PGError?
        var connectionQueued: PGError?
        var connectionAliveAfter = true
        var connectionOnClose: PGError?
        var nextAnswer: Int?
        var relistened = false
        var notifiedAfterRestart: String?
        var connectionsLost = 0
    }

    @Test func restartFailsWorkInFlightAndTheNextQuerySucceeds() throws {
        let cluster = try PrivateCluster.start()
        defer { cluster.stop() }
        let url = cluster.url
        let outcome = try runReactor(limit: .seconds(120)) { (reactor: Reactor, finish: @escaping (Outcome) -> Void) in
            var outcome = Outcome()
            let pool = PGPool(reactor: reactor, url: url, size: 2)
            var standalone: PGConnection?
            var listener: PGListener?
            var answered = false
            func notifyWhenBothReady() {
                guard answered, outcome.relistened else { return }
                pool.notify(channel: "restart_test", payload: "after restart") { _ in }
            }
            listener = PGListener(reactor: reactor, url: url) { notification in
                outcome.notifiedAfterRestart = notification.payload
                outcome.connectionsLost = pool.stats.connectionsLost
                listener?.close()
                pool.close()
                finish(outcome)
            }
            listener?.onReconnect = {
                outcome.relistened = true
                notifyWhenBothReady()
            }
            PGConnection.connect(reactor: reactor, url: url) { result in
                guard let connection = try? result.get() else { return finish(outcome) }
                standalone = connection
                connection.onClose = { outcome.connectionOnClose = $0 }
                listener?.listen("restart_test") { _ in
                    pool.query("SELECT 1") { _ in
                        pool.query("SELECT pg_sleep(30)") { result in
                            if case .failure(let error) = result { outcome.poolInFlight = error }
                        }
                        connection.query("SELECT pg_sleep(30)") { result in
                            if case .failure(let error) = result { outcome.connectionInFlight = error }
                        }
                        connection.script("SELECT 1; SELECT 2") { result in
                            if case .failure(let error) = result { outcome.connectionQueued = error }
                        }
                        reactor.schedule(after: .milliseconds(300)) {
                            reactor.offload({ cluster.restart() }) { restarted in
                                outcome.restarted = restarted
                                outcome.connectionAliveAfter = standalone?.isAlive ?? false
                                pool.query("SELECT 42 AS answer") { result in
                                    outcome.nextAnswer = (try? result.get())?.first?.int("answer")
                                    answered = true
                                    notifyWhenBothReady()
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(outcome.restarted)
        #expect(outcome.poolInFlight?.kind == .connectionLost)
        #expect(outcome.connectionInFlight?.kind == .connectionLost)
        #expect(outcome.connectionQueued?.kind == .connectionLost)
        #expect(outcome.connectionOnClose?.kind == .connectionLost)
        #expect(outcome.connectionAliveAfter == false)
        #expect(outcome.nextAnswer == 42)
        #expect(outcome.notifiedAfterRestart == "after restart")
        #expect(outcome.connectionsLost >= 1)
    }
}
