// Splits a byte stream into LF-terminated lines under a hard length limit.
// Remembers how far it scanned so bytes are never rescanned; a line longer
// than the limit is reported once as `.tooLong` and the rest of it, up to the
// next LF, is discarded as it arrives — never buffered. Whether a line ended
// in CRLF or a bare LF is reported; policy about bare LF is the caller's.

public struct LineFramer: Sendable {
    public enum Frame: Equatable, Sendable {
        /// A line without its terminator.
        case line([UInt8], crlf: Bool)
        /// A line passed the limit; its bytes were dropped.
        case tooLong
    }

    /// The longest line accepted, terminator included (RFC 5321: 1000).
    public let maxLineLength: Int
    private var buffer: [UInt8] = []
    private var scanned = 0
    private var discarding = false

    public init(maxLineLength: Int) {
        self.maxLineLength = max(2, maxLineLength)
    }

    /// Bytes held for an incomplete line (never above the limit).
    public var bufferedCount: Int { buffer.count }

    public mutating func append<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        guard !bytes.isEmpty else { return }
        if !discarding {
            buffer.append(contentsOf: bytes)
            return
        }
        // Discarding the tail of an overlong line: keep only what follows its LF.
        guard let newline = bytes.firstIndex(of: 0x0A) else { return }
        discarding = false
        buffer.append(contentsOf: bytes[bytes.index(after: newline)...])
        scanned = 0
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() -> Frame? {
        if discarding { return nil }
        let limit = min(buffer.count, maxLineLength)
        var index = scanned
        while index < limit {
            if buffer[index] == 0x0A {
                let crlf = index > 0 && buffer[index - 1] == 0x0D
                let line = Array(buffer[0..<(crlf ? index - 1 : index)])
                buffer.removeSubrange(0...index)
                scanned = 0
                return .line(line, crlf: crlf)
            }
            index += 1
        }
        scanned = index
        guard buffer.count >= maxLineLength else { return nil }
        // Over the limit with no LF in sight: drop it and discard up to the next LF.
        let rest = buffer[maxLineLength...]
        if let newline = rest.firstIndex(of: 0x0A) {
            buffer.removeSubrange(0...newline)
        } else {
            buffer = []
            discarding = true
        }
        scanned = 0
        return .tooLong
    }

    /// Takes whatever is buffered (the bytes after the last complete line),
    /// e.g. to hand a pipelined remainder to another stage.
    public mutating func takeRemainder() -> [UInt8] {
        defer {
            buffer = []
            scanned = 0
        }
        return buffer
    }
}
