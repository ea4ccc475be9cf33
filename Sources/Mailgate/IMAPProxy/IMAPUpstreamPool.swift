// Ready upstream IMAP connections (connected, TLS done, greeted, capabilities
// known, nobody logged in), [imap] upstream_pool of them per upstream server,
// so that a client's login costs the upstream login alone and not also a TCP
// connect, a TLS handshake and a greeting. Accounts on one server share them:
// nothing about the account is sent before the login.
// Kept only while logins succeed (within `warmFor` of the last one through that
// server); each is closed after `maxAge`, below the pre-login timeouts of common
// servers (Dovecot: 60 s to 3 min), and replaced while warm. A connection the
// server drops, or a failed dial, is replaced only after the next login.
// Refills start once a login is done, so their TLS handshakes do not compete
// with it for the CPU.
import Logging
import IMAPProtocol
import Reactor
import TLS

final class IMAPUpstreamPool {
    enum Limits {
        static let maxAge: Duration = .seconds(30)
        static let warmFor: Duration = .seconds(300)
        static let connectTimeout: Duration = .seconds(30)
    }

    private final class Ready {
        let dialer: IMAPUpstreamDialer
        var expiry: TimerID?
        init(_ dialer: IMAPUpstreamDialer) { self.dialer = dialer }
    }

    private struct Server {
        var ready: [Ready] = []
        var dialing: [ObjectIdentifier: IMAPUpstreamDialer] = [:]
        var lastLogin: UInt64 = 0
        var tlsContext: TLSClientContext?
        /// A dial failed: no new ones until the next successful login.
        var failed = false
    }

    private unowned let reactor: Reactor
    private let logger: Logger
    private var servers: [IMAPUpstreamEndpoint: Server] = [:]
    /// Ended dialers kept until the loop is out of their callbacks.
    private var retired: [IMAPUpstreamDialer] = []
    private var stopped = false
    /// Ready connections per upstream server; 0 turns the pool off.
    var size: Int

    init(reactor: Reactor, size: Int, logger: Logger) {
        self.reactor = reactor
        self.size = size
        self.logger = logger
    }

    /// A ready connection to `endpoint`, if one is waiting: the newest, the one
    /// least likely to have met the server's own pre-login timeout.
    func take(_ endpoint: IMAPUpstreamEndpoint) -> IMAPUpstreamDialer? {
        while let entry = servers[endpoint]?.ready.last {
            servers[endpoint]?.ready.removeLast()
            if let expiry = entry.expiry { reactor.cancel(expiry) }
            if entry.dialer.isReady { return entry.dialer }
        }
        return nil
    }

    /// A login through `endpoint` succeeded: the pool is topped up for the logins that follow.
    func loggedIn(through endpoint: IMAPUpstreamEndpoint, tlsContext: TLSClientContext?) {
        guard size > 0, !stopped else { return }
        var server = servers[endpoint, default: Server()]
        server.lastLogin = reactor.now
        server.tlsContext = tlsContext
        server.failed = false
        servers[endpoint] = server
        refill(endpoint)
    }

    /// Closes every ready connection and forgets the servers (a reload may change them).
    func closeAll() {
        for (_, server) in servers {
            for entry in server.ready {
                if let expiry = entry.expiry { reactor.cancel(expiry) }
                entry.dialer.cancel()
            }
            for (_, dialer) in server.dialing { dialer.cancel() }
        }
        servers = [:]
    }

    /// Drain: closes everything and dials no more.
    func stop() {
        stopped = true
        closeAll()
    }

    // MARK: Filling

    private func refill(_ endpoint: IMAPUpstreamEndpoint) {
        guard let server = servers[endpoint], !stopped, !server.failed else { return }
        let sinceLogin = Duration.nanoseconds(Int64(clamping: reactor.now &- server.lastLogin))
        guard sinceLogin < Limits.warmFor else { return }
        for _ in 0..<max(0, size - server.ready.count - server.dialing.count) {
            dial(endpoint, tlsContext: server.tlsContext)
        }
    }

    private func dial(_ endpoint: IMAPUpstreamEndpoint, tlsContext: TLSClientContext?) {
        let dialer = IMAPUpstreamDialer(reactor: reactor, endpoint: endpoint, tlsContext: tlsContext,
                                        connectTimeout: Limits.connectTimeout)
        let id = ObjectIdentifier(dialer)
        servers[endpoint]?.dialing[id] = dialer
        dialer.connect(timeout: Limits.connectTimeout) { [unowned self] failure in
            guard self.servers[endpoint]?.dialing.removeValue(forKey: id) != nil else { return self.retire(dialer) }
            if let failure {
                self.logger.info("upstream pool: dial failed", metadata: ["upstream": "\(endpoint)",
                                                                          "error": "\(failure)"])
                self.servers[endpoint]?.failed = true
                return self.retire(dialer)
            }
            self.park(dialer, at: endpoint)
        }
    }

    private func park(_ dialer: IMAPUpstreamDialer, at endpoint: IMAPUpstreamEndpoint) {
        let entry = Ready(dialer)
        servers[endpoint]?.ready.append(entry)
        entry.expiry = reactor.schedule(after: Limits.maxAge) { [unowned self] in
            entry.expiry = nil
            guard self.remove(entry, at: endpoint) else { return }
            dialer.cancel()
            self.refill(endpoint)
        }
        dialer.park { [unowned self] failure in
            guard self.remove(entry, at: endpoint) else { return }
            if let expiry = entry.expiry { self.reactor.cancel(expiry) }
            self.logger.debug("upstream pool: ready connection lost", metadata: ["upstream": "\(endpoint)",
                                                                              "error": "\(failure)"])
            self.retire(dialer)
        }
    }

    private func remove(_ entry: Ready, at endpoint: IMAPUpstreamEndpoint) -> Bool {
        guard let index = servers[endpoint]?.ready.firstIndex(where: { $0 === entry }) else { return false }
        servers[endpoint]?.ready.remove(at: index)
        return true
    }

    private func retire(_ dialer: IMAPUpstreamDialer) {
        retired.append(dialer)
        if retired.count == 1 {
            reactor.schedule(after: .zero) { [unowned self] in self.retired.removeAll() }
        }
    }
}
