// IP addresses, listen addresses ("127.0.0.1:587", "[::1]:587") and networks
// ("10.0.0.0/8", "fd00::/8") as written in the config. Listen addresses must be
// IP literals (a listener binds an address, not a name); IPv6 zone ids are refused.
// IPv4 with leading zeros ("010.1.1.1") is refused: some tools read it as octal.

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// Network order, 4 or 16 bytes.
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    /// nil unless `bytes` has 4 or 16 elements.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Dotted quad or RFC 4291 text (with "::" and a trailing dotted quad allowed).
    public static func parse(_ text: String) -> IPAddress? {
        if let bytes = parseIPv4(Substring(text)) { return IPAddress(bytes: bytes) }
        if let bytes = parseIPv6(Substring(text)) { return IPAddress(bytes: bytes) }
        return nil
    }

    /// The address as 16 bytes: IPv4 becomes IPv4-mapped (::ffff:a.b.c.d).
    public var mappedToIPv6: [UInt8] {
        isIPv4 ? [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + bytes : bytes
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 address, or self when IPv4; else nil.
    public var unmappedIPv4: [UInt8]? {
        if isIPv4 { return bytes }
        let prefix = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]
        return Array(bytes.prefix(12)) == prefix ? Array(bytes.suffix(4)) : nil
    }

    /// Dotted quad, or RFC 5952 text for IPv6 (lower case, longest zero run as "::").
    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [Int] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(Int(bytes[index]) << 8 | Int(bytes[index + 1]))
        }
        var bestStart = -1, bestLength = 0, runStart = -1
        for (index, group) in groups.enumerated() {
            if group == 0 {
                if runStart < 0 { runStart = index }
                let length = index - runStart + 1
                if length > bestLength { bestStart = runStart; bestLength = length }
            } else {
                runStart = -1
            }
        }
        func hex(_ slice: ArraySlice<Int>) -> String {
            slice.map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestLength >= 2 else { return hex(groups[...]) }
        return hex(groups[..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            guard part.count == 1 || part.first != "0", let value = UInt8(part) else { return nil }
            result.append(value)
        }
        return result
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.utf8.count >= 2, text.utf8.count <= 45 else { return nil }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (offset, piece) in pieces.enumerated() {
                if allowIPv4Tail, offset == pieces.count - 1, piece.contains(".") {
                    guard let tail = parseIPv4(piece) else { return nil }
                    bytes += tail
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4, let value = UInt16(piece, radix: 16),
                      piece.utf8.allSatisfy({ isHexDigit($0) }) else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
            return bytes
        }
        if halves.count == 1 {
            guard let bytes = groups(halves[0], allowIPv4Tail: true), bytes.count == 16 else { return nil }
            return bytes
        }
        guard let head = groups(halves[0], allowIPv4Tail: false),
              let tail = groups(halves[1], allowIPv4Tail: true),
              head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
             UInt8(ascii: "A")...UInt8(ascii: "F"):
            return true
        default:
            return false
        }
    }
}

/// A listen address: an IP literal and a port, "127.0.0.1:587" or "[::1]:587".
public struct SocketAddressSpec: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16

    /// The host as text without brackets, e.g. "::1", for inet_pton.
    public var host: String { address.description }

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// nil unless `text` is `IPv4:port` or `[IPv6]:port` with port 1-65535.
    public static func parse(_ text: String) -> SocketAddressSpec? {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let afterClose = text[text.index(after: close)...]
            guard afterClose.first == ":" else { return nil }
            portPart = afterClose.dropFirst()
            guard IPAddress.parseIPv6(hostPart) != nil else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            guard IPAddress.parseIPv4(hostPart) != nil else { return nil }
        }
        guard let address = IPAddress.parse(String(hostPart)),
              let port = parsePort(portPart) else { return nil }
        return SocketAddressSpec(address: address, port: port)
    }

    /// "127.0.0.1:587" or "[::1]:587".
    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    static func parsePort(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let port = UInt16(text), port > 0 else { return nil }
        return port
    }
}

/// A network in CIDR notation; a bare address is a /32 or /128 network.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits are zero).
    public let network: IPAddress
    public let prefixLength: Int

    /// nil unless `text` is `address/length` (or a bare address) with no host bits set.
    /// With `maskingHostBits`, "10.1.2.3/8" is accepted and becomes 10.0.0.0/8.
    public static func parse(_ text: String, maskingHostBits: Bool = false) -> CIDR? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress.parse(String(parts[0])) else { return nil }
        let maximum = address.bytes.count * 8
        var length = maximum
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let value = Int(digits), value <= maximum else { return nil }
            length = value
        }
        let masked = mask(address.bytes, to: length)
        guard maskingHostBits || masked == address.bytes, let network = IPAddress(bytes: masked) else { return nil }
        return CIDR(network: network, prefixLength: length)
    }

    /// Whether the 4- or 16-byte address lies in this network. IPv4-mapped IPv6
    /// addresses (what a dual-stack socket reports) match IPv4 networks and back, so an
    /// IPv4 address is judged as its mapped form by IPv6 networks (::/0 contains 1.2.3.4).
    public func contains(_ addressBytes: [UInt8]) -> Bool {
        guard let address = IPAddress(bytes: addressBytes) else { return false }
        return contains(address)
    }

    public func contains(_ address: IPAddress) -> Bool {
        let candidate: [UInt8]
        var length = prefixLength
        if network.isIPv4 {
            guard let unmapped = address.unmappedIPv4 else { return false }
            candidate = unmapped
        } else if address.isIPv4 {
            candidate = address.mappedToIPv6
        } else {
            candidate = address.bytes
        }
        length = min(length, candidate.count * 8)
        return Self.mask(candidate, to: length) == network.bytes
    }

    public var description: String { "\(network)/\(prefixLength)" }

    static func mask(_ bytes: [UInt8], to length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsKept = max(0, min(8, length - index * 8))
            return bitsKept == 0 ? 0 : byte & ~UInt8(truncatingIfNeeded: (1 << (8 - bitsKept)) - 1)
        }
    }
}
