// Frames server responses for mailgate as an IMAP client: one frame is the
// response's line segments and the literal between each pair. The sync keeps
// literals (message bodies); the login reader (IMAPResponseReader) keeps none.
// Contract: append bytes in any split, call next() until needMoreBytes. The line
// text of one response is bounded by maxLineLength; a literal above
// maxLiteralSize is read past and reported as nil (its size is kept), and one
// above literalSizeLimit, when set, is fatal as soon as it is announced.

/// One whole server response: `segments[i]` ends with `{n}` when `literals[i]` follows it.
public struct IMAPResponseFrame: Sendable, Hashable {
    /// The lines of the response without CRLF; there is one more segment than literals.
    public var segments: [[UInt8]]
    /// Each literal's bytes, or nil when it was larger than the framer keeps.
    public var literals: [[UInt8]?]
    /// Each literal's announced size.
    public var literalSizes: [Int]

    public init(segments: [[UInt8]], literals: [[UInt8]?] = [], literalSizes: [Int]? = nil) {
        self.segments = segments
        self.literals = literals
        self.literalSizes = literalSizes ?? literals.map { $0?.count ?? 0 }
    }

    /// The status-level reading of the first line (tag, status, code, data words).
    public var response: IMAPServerResponse? { IMAPResponseReader.parse(segments.first ?? []) }
}

public enum IMAPResponseFramerEvent: Sendable, Hashable {
    case needMoreBytes
    case frame(IMAPResponseFrame)
    /// A response line over the limit or bytes that are not IMAP: fatal.
    case failure(String)
}

public struct IMAPResponseFramer: Sendable {
    public let maxLineLength: Int
    public let maxLiteralSize: Int
    public let literalSizeLimit: Int?
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var scanIndex = 0
    private var segments: [[UInt8]] = []
    private var literals: [[UInt8]?] = []
    private var literalSizes: [Int] = []
    private var lineBytes = 0
    /// The literal being read: bytes still due, and whether they are kept.
    private var literalRemaining = 0
    private var literalKept: [UInt8]?
    private var failed: String?

    public init(maxLineLength: Int = 65536, maxLiteralSize: Int = 64 << 20, literalSizeLimit: Int? = nil) {
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.literalSizeLimit = literalSizeLimit
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        guard failed == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes buffered but not yet framed (literal bytes being collected excluded).
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Hands over every byte not yet framed (the proxy's relay takes them after login).
    public mutating func takeRemainingBytes() -> [UInt8] {
        let rest = Array(buffer[readIndex...])
        buffer = []
        readIndex = 0
        scanIndex = 0
        return rest
    }

    public mutating func next() -> IMAPResponseFramerEvent {
        if let failed { return .failure(failed) }
        while true {
            if literalRemaining > 0 {
                let take = min(literalRemaining, buffer.count - readIndex)
                if literalKept != nil { literalKept?.append(contentsOf: buffer[readIndex..<(readIndex + take)]) }
                readIndex += take
                literalRemaining -= take
                if literalRemaining > 0 { compact(); return .needMoreBytes }
                literals.append(literalKept)
                literalKept = nil
                scanIndex = readIndex
            }
            guard let newline = buffer[max(scanIndex, readIndex)...].firstIndex(of: 0x0A) else {
                scanIndex = buffer.count
                if lineBytes + (buffer.count - readIndex) > maxLineLength { return fail("response line too long") }
                compact()
                return .needMoreBytes
            }
            var end = newline
            if end > readIndex && buffer[end - 1] == 0x0D { end -= 1 }
            lineBytes += newline + 1 - readIndex
            if lineBytes > maxLineLength { return fail("response line too long") }
            let segment = Array(buffer[readIndex..<end])
            readIndex = newline + 1
            scanIndex = readIndex
            segments.append(segment)
            if let size = IMAPResponseReader.trailingLiteralSize(segment) {
                if let literalSizeLimit, size > literalSizeLimit { return fail("literal in response too large") }
                literalSizes.append(size)
                literalRemaining = size
                if size <= maxLiteralSize {
                    literalKept = []
                    literalKept?.reserveCapacity(size)
                } else {
                    literalKept = nil
                }
                if size == 0 { literals.append(literalKept); literalKept = nil }
                continue
            }
            let frame = IMAPResponseFrame(segments: segments, literals: literals, literalSizes: literalSizes)
            segments = []
            literals = []
            literalSizes = []
            lineBytes = 0
            compact()
            return .frame(frame)
        }
    }

    private mutating func fail(_ reason: String) -> IMAPResponseFramerEvent {
        failed = reason
        buffer = []
        readIndex = 0
        scanIndex = 0
        return .failure(reason)
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
            readIndex = 0
            scanIndex = 0
        } else if readIndex > 4096 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            scanIndex = max(0, scanIndex - readIndex)
            readIndex = 0
        }
    }
}
