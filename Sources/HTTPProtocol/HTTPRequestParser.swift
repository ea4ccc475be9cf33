// An HTTP/1.x request parser for servers that answer GET and HEAD (and, when
// `maxBodySize` allows, small POSTs): bytes in (any split), requests or one
// error out. Lines must end in CRLF; obs-fold, whitespace before a colon,
// controls in values, conflicting Content-Length and Transfer-Encoding with
// Content-Length are refused (the request-smuggling shapes). Any other body,
// and any chunked one, is an error (413), so the parser never has to skip one.
// Buffered bytes stay below the limits plus what was appended since `next()`.

public struct HTTPRequestParser: Sendable {
    public let limits: HTTPRequestLimits
    private var buffer: [UInt8] = []
    /// Start of the line being read.
    private var lineStart = 0
    /// Where to resume looking for LF.
    private var scanFrom = 0
    private var phase = Phase.requestLine
    private var emptyLinesSeen = 0
    private var line: RequestLine?
    private var headers: [HTTPHeader] = []
    private var headerBytes = 0
    public private(set) var failure: HTTPRequestError?

    private enum Phase: Equatable {
        case requestLine
        case headers
        /// The head was read; `length` body bytes are awaited.
        case body(HTTPRequest, length: Int)
    }

    private struct RequestLine {
        var method: HTTPMethod
        var target: [UInt8]
        var path: [UInt8]
        var query: [UInt8]?
        var version: HTTPVersion
    }

    public init(limits: HTTPRequestLimits = HTTPRequestLimits()) {
        self.limits = limits
    }

    /// Bytes received but not yet part of a returned request.
    public var bufferedByteCount: Int { buffer.count - lineStart }

    /// True between requests: nothing of a next request has arrived yet.
    public var isIdle: Bool { bufferedByteCount == 0 && phase == .requestLine && emptyLinesSeen == 0 }

    /// True while the body of a POST is still arriving.
    public var isReadingBody: Bool {
        if case .body = phase { return true }
        return false
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete request, or the error that ends the connection, or nil when more bytes
    /// are needed. After a failure it returns that failure again.
    public mutating func next() -> HTTPParseResult? {
        if let failure { return .failure(failure) }
        if case .body(var request, let length) = phase {
            guard buffer.count - lineStart >= length else { return nil }
            request.body = Array(buffer[lineStart..<(lineStart + length)])
            lineStart += length
            scanFrom = lineStart
            phase = .requestLine
            compact()
            return .request(request)
        }
        while true {
            guard let end = buffer[scanFrom...].firstIndex(of: UInt8(ascii: "\n")) else {
                scanFrom = buffer.count
                // Not yet ended: a CR may be the last byte buffered.
                if let error = overlong(buffer.count - lineStart, slack: 1) { return fail(error) }
                compact()
                return nil
            }
            let start = lineStart
            lineStart = end + 1
            scanFrom = lineStart
            guard end > start, buffer[end - 1] == UInt8(ascii: "\r") else {
                return fail(.badRequest("line not ended by CRLF"))
            }
            let content = buffer[start..<(end - 1)]
            if let error = overlong(content.count, slack: 0) { return fail(error) }
            switch phase {
            case .body:
                return fail(.badRequest("parser state"))  // unreachable: handled above
            case .requestLine:
                if content.isEmpty {
                    emptyLinesSeen += 1
                    if emptyLinesSeen > limits.maxLeadingEmptyLines { return fail(.badRequest("empty lines")) }
                    continue
                }
                switch Self.parseRequestLine(content) {
                case .success(let parsed):
                    line = parsed
                    phase = .headers
                case .failure(let error):
                    return fail(error)
                }
            case .headers:
                if content.isEmpty { return finishHead() }
                headerBytes += content.count + 2
                guard headers.count < limits.maxHeaders else { return fail(.headerFieldsTooLarge("too many fields")) }
                guard headerBytes <= limits.maxHeaderSection else {
                    return fail(.headerFieldsTooLarge("header section too large"))
                }
                switch Self.parseHeader(content) {
                case .success(let header): headers.append(header)
                case .failure(let error): return fail(error)
                }
            }
        }
    }

    /// The error for a line of `length` bytes (plus `slack` that may be its CR) over its limit.
    private func overlong(_ length: Int, slack: Int) -> HTTPRequestError? {
        switch phase {
        case .body:
            return nil
        case .requestLine:
            return length > limits.maxRequestLine + slack ? .uriTooLong : nil
        case .headers:
            if length > limits.maxHeaderLine + slack { return .headerFieldsTooLarge("header line too long") }
            if headerBytes + length > limits.maxHeaderSection + slack {
                return .headerFieldsTooLarge("header section too large")
            }
            return nil
        }
    }

    private mutating func fail(_ error: HTTPRequestError) -> HTTPParseResult {
        failure = error
        buffer = []
        lineStart = 0
        scanFrom = 0
        return .failure(error)
    }

    /// Drops consumed bytes once they are worth moving.
    private mutating func compact() {
        guard lineStart > 0, lineStart == buffer.count || lineStart >= 4096 else { return }
        buffer.removeFirst(lineStart)
        scanFrom -= lineStart
        lineStart = 0
    }

    // MARK: Request line

    private static func parseRequestLine(_ content: ArraySlice<UInt8>) -> Result<RequestLine, HTTPRequestError> {
        let parts = content.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, let methodToken = parts.first, !methodToken.isEmpty,
              methodToken.allSatisfy(ASCII.isTokenCharacter) else {
            return .failure(.badRequest("request line is not METHOD SP TARGET SP VERSION"))
        }
        let target = parts[1]
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.badRequest("request target"))
        }
        let version: HTTPVersion
        switch parseVersion(parts[2]) {
        case .success(let parsed): version = parsed
        case .failure(let error): return .failure(error)
        }
        guard let (path, query) = split(target: target) else { return .failure(.badRequest("request target form")) }
        return .success(RequestLine(method: HTTPMethod(token: methodToken), target: Array(target), path: path,
                                    query: query, version: version))
    }

    /// "HTTP/" DIGIT "." DIGIT; a major version other than 1 is answered 505.
    private static func parseVersion(_ token: ArraySlice<UInt8>) -> Result<HTTPVersion, HTTPRequestError> {
        let bytes = Array(token)
        guard bytes.count == 8, bytes[0..<5].elementsEqual("HTTP/".utf8), ASCII.isDigit(bytes[5]),
              bytes[6] == UInt8(ascii: "."), ASCII.isDigit(bytes[7]) else {
            return .failure(.badRequest("HTTP version"))
        }
        let major = Int(bytes[5] - 0x30)
        guard major == 1 else { return .failure(.versionNotSupported) }
        return .success(HTTPVersion(major: major, minor: Int(bytes[7] - 0x30)))
    }

    /// Origin form ("/p?q"), absolute form ("http://host/p?q") or "*".
    private static func split(target: ArraySlice<UInt8>) -> (path: [UInt8], query: [UInt8]?)? {
        if target.elementsEqual("*".utf8) { return (Array(target), nil) }
        var rest = target
        if target.first != UInt8(ascii: "/") {
            let lowered = target.prefix(8).map(ASCII.lower)
            let scheme: Int
            if lowered.starts(with: "http://".utf8) {
                scheme = 7
            } else if lowered.starts(with: "https://".utf8) {
                scheme = 8
            } else {
                return nil
            }
            let afterScheme = target.dropFirst(scheme)
            let authorityEnd = afterScheme.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }
                ?? afterScheme.endIndex
            guard authorityEnd > afterScheme.startIndex else { return nil }
            rest = afterScheme[authorityEnd...]
        }
        guard let mark = rest.firstIndex(of: UInt8(ascii: "?")) else {
            return (rest.isEmpty ? Array("/".utf8) : Array(rest), nil)
        }
        let path = rest[..<mark]
        return (path.isEmpty ? Array("/".utf8) : Array(path), Array(rest[(mark + 1)...]))
    }

    // MARK: Header fields

    private static func parseHeader(_ content: ArraySlice<UInt8>) -> Result<HTTPHeader, HTTPRequestError> {
        HTTPFieldSyntax.field(content).mapError { .badRequest($0.reason) }
    }

    // MARK: End of the head

    private mutating func finishHead() -> HTTPParseResult? {
        guard let line else { return fail(.badRequest("no request line")) }
        let fields = headers
        self.line = nil
        headers = []
        headerBytes = 0
        emptyLinesSeen = 0
        phase = .requestLine
        compact()
        let request = HTTPRequest(method: line.method, target: line.target, path: line.path, query: line.query,
                                  version: line.version, headers: fields,
                                  keepAlive: Self.keepAlive(version: line.version, headers: fields))
        switch Self.check(request, limits: limits) {
        case .failure(let error):
            return fail(error)
        case .success(let length) where length > 0:
            phase = .body(request, length: length)
            return next()
        case .success:
            return .request(request)
        }
    }

    /// The checks that need the whole head, in the order a client is best told about them.
    /// The body length to read next (0 for none), or why the request is refused.
    private static func check(_ request: HTTPRequest, limits: HTTPRequestLimits) -> Result<Int, HTTPRequestError> {
        let hosts = request.values("Host")
        if request.version.minor >= 1 && hosts.isEmpty { return .failure(.badRequest("Host header missing")) }
        if hosts.count > 1 { return .failure(.badRequest("more than one Host header")) }
        let transferEncodings = request.values("Transfer-Encoding")
        let lengths = request.values("Content-Length")
        if !transferEncodings.isEmpty && !lengths.isEmpty {
            return .failure(.badRequest("both Transfer-Encoding and Content-Length"))
        }
        if !transferEncodings.isEmpty && request.version == .http10 {
            return .failure(.badRequest("Transfer-Encoding in HTTP/1.0"))
        }
        var length: Int?
        for value in lengths {
            // One too long to be real reads as Int.max: still a body, so 413.
            guard let parsed = HTTPFieldSyntax.contentLength(value) else { return .failure(.badRequest("Content-Length value")) }
            if let length, length != parsed { return .failure(.badRequest("conflicting Content-Length values")) }
            length = parsed
        }
        var bodyAllowed = 0
        switch request.method {
        case .get, .head: break
        case .post:
            guard limits.maxBodySize > 0 else { return .failure(.methodNotAllowed(Array("POST".utf8))) }
            bodyAllowed = limits.maxBodySize
        case .other(let token): return .failure(.methodNotAllowed(token))
        }
        if !transferEncodings.isEmpty || (length ?? 0) > bodyAllowed { return .failure(.contentTooLarge) }
        return .success(length ?? 0)
    }

    private static func keepAlive(version: HTTPVersion, headers: [HTTPHeader]) -> Bool {
        var close = false
        var keep = false
        for header in headers where header.hasName("Connection") {
            for token in HTTPFieldSyntax.listElements(header.value) {
                if ASCII.equalsIgnoringCase(token, "close") { close = true }
                if ASCII.equalsIgnoringCase(token, "keep-alive") { keep = true }
            }
        }
        if close { return false }
        return version.minor >= 1 || keep
    }
}
