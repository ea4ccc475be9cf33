// IPv4 and IPv6 socket addresses: parsing "host:port" / "[v6]:port" specs,
// conversion to and from sockaddr, and the textual form used in logs and
// Received: headers. Numeric addresses only; names are resolved elsewhere.
import Glibc

public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: Sendable { case ipv4, ipv6 }

    /// Address bytes in network order: 4 for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public let port: UInt16

    public var family: Family { bytes.count == 4 ? .ipv4 : .ipv6 }

    public init?(host: String, port: UInt16) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
        self.port = port
    }

    /// Parses "127.0.0.1:587" or "[::1]:587".
    public init?(_ spec: String) {
        let host: Substring
        let portText: Substring
        if spec.hasPrefix("[") {
            guard let close = spec.firstIndex(of: "]"), spec[spec.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = spec[spec.index(after: spec.startIndex)..<close]
            portText = spec[spec.index(close, offsetBy: 2)...]
        } else {
            guard let colon = spec.lastIndex(of: ":") else { return nil }
            host = spec[..<colon]
            portText = spec[spec.index(after: colon)...]
        }
        guard let port = UInt16(portText) else { return nil }
        self.init(host: String(host), port: port)
    }

    init?(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            var raw = address.sin_addr
            bytes = withUnsafeBytes(of: &raw) { Array($0) }
            port = UInt16(bigEndian: address.sin_port)
        case AF_INET6:
            let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            var raw = address.sin6_addr
            bytes = withUnsafeBytes(of: &raw) { Array($0) }
            port = UInt16(bigEndian: address.sin6_port)
        default:
            return nil
        }
    }

    /// Calls `body` with this address as a sockaddr.
    func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        switch family {
        case .ipv4:
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6:
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    /// The address alone: "127.0.0.1", "::1".
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = bytes
        let family = self.family == .ipv4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &raw, &text, socklen_t(text.count)) != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "127.0.0.1:587", "[::1]:587".
    public var description: String { family == .ipv4 ? "\(host):\(port)" : "[\(host)]:\(port)" }
}
