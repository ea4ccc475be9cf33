// Queue ids, as in "250 2.0.0 Ok: queued as <id>": 17 characters of
// Crockford base32 (no I, L, O, U), microseconds since the epoch in 11
// (55 bits, good for a millennium) then 30 random bits, so ids sort by acceptance time, are unique across nodes
// without coordination, and are safe in logs, headers and file names.

public enum QueueID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// `microseconds` since the Unix epoch; `random` supplies the low 30 bits.
    public static func make(microseconds: UInt64, random: UInt32) -> String {
        var out = [UInt8](repeating: 0, count: 17)
        var time = microseconds
        for index in stride(from: 10, through: 0, by: -1) {
            out[index] = alphabet[Int(time & 31)]
            time >>= 5
        }
        var bits = random & 0x3FFF_FFFF
        for index in stride(from: 16, through: 11, by: -1) {
            out[index] = alphabet[Int(bits & 31)]
            bits >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` has the shape of a queue id (for admin commands).
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 17 && bytes.allSatisfy { alphabet.contains($0) }
    }
}
