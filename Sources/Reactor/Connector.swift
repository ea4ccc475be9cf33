// Outgoing TCP connections on the loop: a non-blocking connect completed when
// the socket turns writable, with a deadline. Numeric addresses only; host
// names go through `Reactor.resolve` first (getaddrinfo on a worker thread).
import CLinux
import Glibc

extension Reactor {
    /// Connects to `address`; `completion` runs on the loop exactly once.
    public func connect(
        to address: SocketAddress, timeout: Duration,
        completion: @escaping (Result<Connection, SystemError>) -> Void
    ) {
        let domain = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, Int32(SOCK_STREAM.rawValue) | MG_SOCK_NONBLOCK | MG_SOCK_CLOEXEC, 0)
        guard fd >= 0 else { return completion(.failure(SystemError("socket"))) }
        let started = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if started == 0 {
            return finishConnect(fd: fd, address: address, completion: completion)
        }
        guard errno == EINPROGRESS else {
            let error = SystemError("connect \(address)")
            Sys.close(fd)
            return completion(.failure(error))
        }
        var pending: Registration?
        var timer: TimerID?
        var done = false
        let finish: (Result<Void, SystemError>) -> Void = { [unowned self] result in
            guard !done else { return }
            done = true
            if let pending { self.unregister(pending) }
            if let timer { self.cancel(timer) }
            switch result {
            case .success:
                self.finishConnect(fd: fd, address: address, completion: completion)
            case .failure(let error):
                Sys.close(fd)
                completion(.failure(error))
            }
        }
        do {
            pending = try register(fd: fd, interest: .write) { _ in
                let error = Sys.pendingSocketError(fd)
                finish(error == 0 ? .success(()) : .failure(SystemError("connect \(address)", errno: error)))
            }
        } catch {
            Sys.close(fd)
            return completion(.failure(error))
        }
        timer = schedule(after: timeout) { finish(.failure(SystemError("connect \(address)", errno: ETIMEDOUT))) }
    }

    private func finishConnect(
        fd: Int32, address: SocketAddress, completion: (Result<Connection, SystemError>) -> Void
    ) {
        do {
            completion(.success(try Connection(fd: fd, peer: address, reactor: self)))
        } catch {
            Sys.close(fd)
            completion(.failure(error))
        }
    }

    /// Resolves a host name to addresses off the loop (getaddrinfo blocks).
    public func resolve(host: String, port: UInt16, completion: @escaping (Result<[SocketAddress], SystemError>) -> Void) {
        if let numeric = SocketAddress(host: host, port: port) { return completion(.success([numeric])) }
        offload({ () -> Result<[SocketAddress], SystemError> in
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &list)
            guard status == 0 else { return .failure(SystemError("getaddrinfo \(host)", errno: EHOSTUNREACH)) }
            defer { freeaddrinfo(list) }
            var addresses: [SocketAddress] = []
            var cursor = list
            while let entry = cursor {
                if let raw = entry.pointee.ai_addr {
                    var storage = sockaddr_storage()
                    withUnsafeMutableBytes(of: &storage) { target in
                        target.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(entry.pointee.ai_addrlen)))
                    }
                    if let address = SocketAddress(storage: storage), !addresses.contains(address) {
                        addresses.append(address)
                    }
                }
                cursor = entry.pointee.ai_next
            }
            return .success(addresses)
        }, then: completion)
    }
}
