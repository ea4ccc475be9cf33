// PGListener: notifications sent by another session arrive with channel and
// payload intact; channel names that are not plain identifiers are refused.
import Postgres
import Reactor
import ReactorTesting
import Testing

@Suite struct ListenerTests {
    @Test func notificationFromAnotherConnectionArrives() throws {
        let url = try testDatabaseURL()
        let channel = uniqueName("chan")
        let payload = "it's \"here\" — 📬 $1"
        let received = try runReactor { (reactor: Reactor, finish: @escaping (PGNotification?) -> Void) in
            let pool = PGPool(reactor: reactor, url: url, size: 1)
            var listener: PGListener?
            listener = PGListener(reactor: reactor, url: url) { notification in
                listener?.close()
                pool.close()
                finish(notification)
            }
            listener?.listen(channel) { result in
                guard case .success = result else { return finish(nil) }
                pool.notify(channel: channel, payload: payload) { _ in }
            }
        }
        #expect(received?.channel == channel)
        #expect(received?.payload == payload)
    }

    @Test(arguments: ["", "has space", "semi;colon", "quote\"d", String(repeating: "x", count: 64)])
    func badChannelNameIsRefused(channel: String) throws {
        let url = try testDatabaseURL()
        let error = try runReactor { (reactor: Reactor, finish: @escaping (PGError?) -> Void) in
            let listener = PGListener(reactor: reactor, url: url) { _ in }
            listener.listen(channel) { result in
                listener.close()
                if case .failure(let error) = result { finish(error) } else { finish(nil) }
            }
        }
        #expect(error?.kind == .invalidQuery)
    }
}
