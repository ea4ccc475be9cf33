// The listening sockets of one kind of service (submission with STARTTLS,
// submission with implicit TLS, IMAP, ...). On reload it opens the addresses
// that are new, closes the ones that are gone and keeps the rest, so a SIGHUP
// that does not touch a listener does not disturb it.
import Config
import Logging
import Reactor

final class ListenerGroup {
    let name: String
    private unowned let reactor: Reactor
    private let logger: Logger
    private var listeners: [SocketAddressSpec: Listener] = [:]
    private let onAccept: (Connection) -> Void

    init(name: String, reactor: Reactor, logger: Logger, onAccept: @escaping (Connection) -> Void) {
        self.name = name
        self.reactor = reactor
        self.logger = logger
        self.onAccept = onAccept
    }

    var addresses: [SocketAddress] { listeners.values.map(\.address) }

    /// Makes the open listeners exactly `specs`; returns the errors of the ones that failed to open.
    @discardableResult
    func update(to specs: [SocketAddressSpec]) -> [String] {
        var failures: [String] = []
        for (spec, listener) in listeners where !specs.contains(spec) {
            listener.close()
            listeners[spec] = nil
            logger.info("listener closed", metadata: ["service": "\(name)", "address": "\(spec)"])
        }
        for spec in specs where listeners[spec] == nil {
            guard let address = SocketAddress(host: spec.host, port: spec.port) else {
                failures.append("\(name) \(spec): not an IP address and port")
                continue
            }
            do {
                listeners[spec] = try Listener(address: address, reactor: reactor, onAccept: onAccept)
                logger.info("listening", metadata: ["service": "\(name)", "address": "\(address)"])
            } catch {
                failures.append("\(name) \(spec): \(error)")
            }
        }
        return failures
    }

    func closeAll() { _ = update(to: []) }

    /// Those of `specs` with no open listener, named for a health report.
    func missing(from specs: [SocketAddressSpec]) -> [String] {
        specs.filter { listeners[$0] == nil }.map { "\(name) \($0)" }
    }
}
