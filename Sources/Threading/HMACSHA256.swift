// HMAC-SHA-256 (RFC 2104, FIPS 198-1) over the module's own SHA256, for tokens
// mailgate signs (one-click unsubscribe). Pure; keys longer than the 64-byte
// block are hashed first, as the RFC says. `constantTimeEqual` compares MACs
// without an early exit, so timing says nothing about how much matched.

public enum HMACSHA256 {
    static let blockSize = 64

    public static func authenticationCode(for message: some Collection<UInt8>, key: some Collection<UInt8>) -> [UInt8] {
        var block = key.count > blockSize ? SHA256.digest(key) : Array(key)
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        let innerDigest = inner.finish()
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finish()
    }

    public static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
