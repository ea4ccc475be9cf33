// An HTTP/1.1 response parser for our client (one request per connection):
// bytes in (any split), one response or one error out. Reads the status line,
// skips interim 1xx answers, then frames the body by RFC 9112 §6.3: none for
// 204 and 304, chunked, Content-Length, or until the connection closes. Lines
// may end in CRLF or a bare LF; obs-fold, controls, Content-Length beside
// Transfer-Encoding and conflicting lengths are refused. Buffers stay within
// the limits plus what the caller appended since the last `next()`.

public struct HTTPResponseParser: Sendable {
    public let limits: HTTPResponseLimits
    private var buffer: [UInt8] = []
    /// Next unread byte.
    private var position = 0
    private var phase = Phase.statusLine
    private var head: Head?
    private var headers: [HTTPHeader] = []
    private var headerBytes = 0
    /// Field lines read for the current response (trailers included).
    private var fieldCount = 0
    private var interimSeen = 0
    private var body: [UInt8] = []
    private var finished: HTTPResponseParseResult?

    private enum Phase: Sendable {
        case statusLine
        case headers
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    private struct Head: Sendable {
        var version: HTTPVersion
        var status: Int
        var reason: [UInt8]
    }

    public init(limits: HTTPResponseLimits = HTTPResponseLimits()) {
        self.limits = limits
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard finished == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The response or the error, once known; nil while more bytes are needed. Repeats its answer.
    public mutating func next() -> HTTPResponseParseResult? {
        if let finished { return finished }
        while finished == nil {
            guard step() else { break }
        }
        compact()
        return finished
    }

    /// The peer closed the connection: a body read until close is complete; anything else is cut short.
    public mutating func endOfInput() -> HTTPResponseParseResult {
        if let result = next() { return result }
        switch phase {
        case .untilClose:
            complete()
        case .statusLine, .headers, .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers:
            fail(.truncated)
        }
        return finished ?? .failure(.truncated)
    }

    // MARK: Phases

    /// One step of progress; false when more bytes are needed.
    private mutating func step() -> Bool {
        switch phase {
        case .statusLine:
            guard let line = takeLine(limit: limits.maxStatusLine, tooLong: .headTooLarge("status line too long"))
            else { return false }
            // Tolerate empty lines before the status line (RFC 9112 §2.2), within the limit on lines.
            if line.isEmpty {
                headerBytes += 2
                if headerBytes > limits.maxStatusLine { fail(.malformed("empty lines before the status line")) }
                return true
            }
            switch Self.parseStatusLine(line) {
            case .success(let parsed):
                head = parsed
                headerBytes = 0
                phase = .headers
            case .failure(let error):
                fail(error)
            }
            return true
        case .headers:
            guard let line = takeHeaderLine() else { return false }
            if line.isEmpty {
                endOfHead()
            } else {
                switch readField(line) {
                case .success(let field): headers.append(field)
                case .failure(let error): fail(error)
                }
            }
            return true
        case .fixedBody(let remaining):
            let available = buffer.count - position
            guard available > 0 else { return false }
            let count = min(available, remaining)
            body.append(contentsOf: buffer[position..<(position + count)])
            position += count
            if remaining - count == 0 {
                complete()
            } else {
                phase = .fixedBody(remaining: remaining - count)
            }
            return true
        case .chunkSize:
            guard let line = takeLine(limit: limits.maxStatusLine, tooLong: .malformed("chunk-size line too long"))
            else { return false }
            switch Self.parseChunkSize(line) {
            case .some(0):
                phase = .trailers
            case .some(let size):
                guard size <= limits.maxBody - body.count else {
                    fail(.bodyTooLarge)
                    return true
                }
                phase = .chunkData(remaining: size)
            case .none:
                fail(.malformed("chunk size"))
            }
            return true
        case .chunkData(let remaining):
            let available = buffer.count - position
            guard available > 0 else { return false }
            let count = min(available, remaining)
            body.append(contentsOf: buffer[position..<(position + count)])
            position += count
            phase = remaining - count == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            return true
        case .chunkDataEnd:
            guard let line = takeLine(limit: 0, tooLong: .malformed("chunk data longer than its size")) else {
                return false
            }
            if !line.isEmpty { fail(.malformed("chunk data longer than its size")) }
            phase = .chunkSize
            return true
        case .trailers:
            guard let line = takeHeaderLine() else { return false }
            if line.isEmpty {
                complete()
            } else if case .failure(let error) = readField(line) {
                // Trailers are checked and counted, never kept.
                fail(error)
            }
            return true
        case .untilClose:
            let available = buffer.count - position
            guard available > 0 else { return false }
            guard available <= limits.maxBody - body.count else {
                fail(.bodyTooLarge)
                return true
            }
            body.append(contentsOf: buffer[position...])
            position = buffer.count
            return false
        }
    }

    /// Decides how the body is framed, once the head is complete.
    private mutating func endOfHead() {
        guard let head else { return fail(.malformed("no status line")) }
        if (100...199).contains(head.status) {
            if head.status == 101 { return fail(.unsupported("101 Switching Protocols")) }
            interimSeen += 1
            guard interimSeen <= limits.maxInterimResponses else { return fail(.malformed("too many 1xx responses")) }
            self.head = nil
            headers = []
            headerBytes = 0
            fieldCount = 0
            phase = .statusLine
            return
        }
        if head.status == 204 || head.status == 304 { return complete() }
        let codings = headers.filter { $0.hasName("Transfer-Encoding") }.flatMap { HTTPFieldSyntax.listElements($0.value) }
        let lengths = headers.filter { $0.hasName("Content-Length") }.flatMap { HTTPFieldSyntax.listElements($0.value) }
        if !codings.isEmpty {
            guard lengths.isEmpty else { return fail(.malformed("both Transfer-Encoding and Content-Length")) }
            let chunkedCount = codings.filter { ASCII.equalsIgnoringCase($0[...], "chunked") }.count
            guard chunkedCount <= 1 else { return fail(.malformed("chunked applied twice")) }
            if let last = codings.last, ASCII.equalsIgnoringCase(last[...], "chunked") {
                phase = .chunkSize
            } else {
                phase = .untilClose
            }
            return
        }
        guard !lengths.isEmpty else {
            phase = .untilClose
            return
        }
        var length: Int?
        for value in lengths {
            // A length too long to be real (Int.max) is no body we would read.
            guard let parsed = HTTPFieldSyntax.contentLength(value), parsed != .max else {
                return fail(.malformed("Content-Length value"))
            }
            if let length, length != parsed { return fail(.malformed("conflicting Content-Length values")) }
            length = parsed
        }
        guard let length else { return fail(.malformed("Content-Length value")) }
        guard length <= limits.maxBody else { return fail(.bodyTooLarge) }
        if length == 0 { return complete() }
        phase = .fixedBody(remaining: length)
    }

    private mutating func complete() {
        guard let head else { return fail(.malformed("no status line")) }
        finish(.response(HTTPClientResponse(version: head.version, status: head.status, reason: head.reason,
                                            headers: headers, body: body)))
    }

    private mutating func fail(_ error: HTTPResponseError) {
        finish(.failure(error))
    }

    private mutating func finish(_ result: HTTPResponseParseResult) {
        finished = result
        buffer = []
        position = 0
        body = []
    }

    // MARK: Lines

    /// The next line without its ending (CRLF or LF), or nil when it has not fully arrived.
    /// A line longer than `limit` fails with `tooLong` (also returning nil).
    private mutating func takeLine(limit: Int, tooLong: HTTPResponseError) -> ArraySlice<UInt8>? {
        guard let end = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) else {
            // Not yet ended: a CR may be the last byte buffered.
            if buffer.count - position > limit + 1 { fail(tooLong) }
            return nil
        }
        var content = buffer[position..<end]
        if content.last == UInt8(ascii: "\r") { content = content.dropLast() }
        position = end + 1
        guard content.count <= limit else {
            fail(tooLong)
            return nil
        }
        return content
    }

    private mutating func takeHeaderLine() -> ArraySlice<UInt8>? {
        let room = min(limits.maxHeaderLine, max(0, limits.maxHeaderSection - headerBytes))
        return takeLine(limit: room, tooLong: .headTooLarge("header line too long or section too large"))
    }

    /// Parses one field line, counting it against the limits.
    private mutating func readField(_ line: ArraySlice<UInt8>) -> Result<HTTPHeader, HTTPResponseError> {
        headerBytes += line.count + 2
        guard headerBytes <= limits.maxHeaderSection else { return .failure(.headTooLarge("header section too large")) }
        fieldCount += 1
        guard fieldCount <= limits.maxHeaders else { return .failure(.headTooLarge("too many fields")) }
        return HTTPFieldSyntax.field(line).mapError { .malformed($0.reason) }
    }

    /// Drops consumed bytes once they are worth moving.
    private mutating func compact() {
        guard position > 0, position == buffer.count || position >= 4096 else { return }
        buffer.removeFirst(position)
        position = 0
    }

    // MARK: Values

    /// "HTTP/1.x" SP 3DIGIT [SP reason]; the reason may be empty or absent.
    private static func parseStatusLine(_ line: ArraySlice<UInt8>) -> Result<Head, HTTPResponseError> {
        let bytes = Array(line)
        guard bytes.count >= 12, bytes[0..<5].elementsEqual("HTTP/".utf8), ASCII.isDigit(bytes[5]),
              bytes[6] == UInt8(ascii: "."), ASCII.isDigit(bytes[7]), bytes[8] == 0x20,
              bytes[9...11].allSatisfy(ASCII.isDigit) else {
            return .failure(.malformed("status line is not HTTP/1.x SP CODE SP REASON"))
        }
        guard bytes[5] == UInt8(ascii: "1") else { return .failure(.unsupported("HTTP major version")) }
        let status = bytes[9...11].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard status >= 100 else { return .failure(.malformed("status code below 100")) }
        if bytes.count > 12 && bytes[12] != 0x20 { return .failure(.malformed("status code longer than 3 digits")) }
        let reason = bytes.count > 13 ? Array(bytes[13...]) : []
        guard reason.allSatisfy(ASCII.isFieldValueByte) else { return .failure(.malformed("control character in the reason")) }
        return .success(Head(version: HTTPVersion(major: 1, minor: Int(bytes[7] - 0x30)), status: status,
                             reason: reason))
    }

    /// 1*HEXDIG, then optional whitespace and chunk extensions (ignored); nil when malformed
    /// or above 2^60.
    static func parseChunkSize(_ line: ArraySlice<UInt8>) -> Int? {
        var size = 0
        var digits = 0
        for byte in line {
            guard let value = hexValue(byte) else {
                guard digits > 0, byte == UInt8(ascii: ";") || ASCII.isWhitespace(byte) else { return nil }
                return size
            }
            digits += 1
            guard digits <= 15 else { return nil }
            size = size << 4 | value
        }
        return digits > 0 ? size : nil
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        default: nil
        }
    }
}
