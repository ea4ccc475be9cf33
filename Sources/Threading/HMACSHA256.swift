// HMAC-SHA256 (RFC 2104) over the module's own SHA256, for signing webhook
// bodies without calling C. Keys longer than the 64-byte block are hashed
// first, as the RFC says. Not constant-time in its comparisons (it makes none):
// verifying a signature is the receiver's business.

public enum HMACSHA256 {
    private static let blockSize = 64

    /// The 32-byte MAC of `message` under `key`.
    public static func mac<K: Collection, M: Collection>(key: K, message: M) -> [UInt8]
        where K.Element == UInt8, M.Element == UInt8 {
        var block = key.count > blockSize ? SHA256.digest(key) : Array(key)
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(inner.finish())
        return outer.finish()
    }

    /// The MAC as 64 lower-case hex digits.
    public static func hex<K: Collection, M: Collection>(key: K, message: M) -> String
        where K.Element == UInt8, M.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in mac(key: key, message: message) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
