// A listening TCP socket on the loop: non-blocking accept4 of every pending
// connection on each readiness event (bounded per event for fairness), each
// handed over as a Connection. When the process runs out of descriptors the
// listener backs off briefly instead of spinning on a level-triggered event.
import CLinux
import Glibc

public final class Listener {
    public let address: SocketAddress
    private let fd: Int32
    private unowned let reactor: Reactor
    private var registration: Registration?
    private let onAccept: (Connection) -> Void

    /// Binds and listens. A port of 0 picks a free port; `address` tells which.
    public init(
        address requested: SocketAddress, reactor: Reactor, backlog: Int32 = 1024,
        onAccept: @escaping (Connection) -> Void
    ) throws(SystemError) {
        let domain = requested.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, Int32(SOCK_STREAM.rawValue) | MG_SOCK_NONBLOCK | MG_SOCK_CLOEXEC, 0)
        guard fd >= 0 else { throw SystemError("socket") }
        do throws(SystemError) {
            try Sys.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if requested.family == .ipv6 { try Sys.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            guard requested.withSockAddr({ bind(fd, $0, $1) }) == 0 else { throw SystemError("bind \(requested)") }
            guard listen(fd, backlog) == 0 else { throw SystemError("listen \(requested)") }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0, let bound = SocketAddress(storage: storage) else { throw SystemError("getsockname") }
            self.address = bound
        } catch {
            Sys.close(fd)
            throw error
        }
        self.fd = fd
        self.reactor = reactor
        self.onAccept = onAccept
        resume()
    }

    deinit { close() }

    /// Stops accepting and closes the socket; accepted connections live on.
    public func close() {
        guard !closed else { return }
        pause()
        Sys.close(fd)
        closed = true
    }

    private var closed = false

    private func pause() {
        if let registration { reactor.unregister(registration) }
        registration = nil
    }

    private func resume() {
        guard !closed, registration == nil else { return }
        registration = try? reactor.register(fd: fd, interest: .read) { [unowned self] _ in self.acceptPending() }
    }

    private func acceptPending() {
        for _ in 0..<64 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    mg_accept4(fd, $0, &length, MG_SOCK_NONBLOCK | MG_SOCK_CLOEXEC)
                }
            }
            if client < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    pause()
                    reactor.schedule(after: .milliseconds(100)) { [weak self] in self?.resume() }
                    return
                default: return
                }
            }
            guard let peer = SocketAddress(storage: storage),
                  let connection = try? Connection(fd: client, peer: peer, reactor: reactor)
            else {
                Sys.close(client)
                continue
            }
            onAccept(connection)
        }
    }
}
