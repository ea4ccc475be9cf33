// What the client side of HTTP/1.1 produces and refuses: a parsed response
// (status, reason, fields, body), the limits the response parser enforces, and
// its errors. Bytes stay bytes, as on the server side; names compare ASCII
// case-insensitively.

public struct HTTPClientResponse: Sendable, Hashable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: [UInt8]
    public var headers: [HTTPHeader]
    /// The body after chunked decoding; at most `HTTPResponseLimits.maxBody` bytes.
    public var body: [UInt8]

    public init(version: HTTPVersion, status: Int, reason: [UInt8], headers: [HTTPHeader], body: [UInt8]) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    public var isSuccess: Bool { (200...299).contains(status) }

    /// The values of every field called `name`, in order.
    public func values(_ name: String) -> [[UInt8]] {
        headers.filter { $0.hasName(name) }.map(\.value)
    }
}

public struct HTTPResponseLimits: Sendable, Hashable {
    /// Longest status line or chunk-size line, line ending excluded.
    public var maxStatusLine: Int
    public var maxHeaderLine: Int
    /// Most fields in the head (trailers of a chunked body count too).
    public var maxHeaders: Int
    /// All header lines together (trailers included).
    public var maxHeaderSection: Int
    /// Largest body kept; a longer one is an error.
    public var maxBody: Int
    /// Interim (1xx) responses skipped before the final one.
    public var maxInterimResponses: Int

    public init(maxStatusLine: Int = 1024, maxHeaderLine: Int = 8192, maxHeaders: Int = 100,
                maxHeaderSection: Int = 32768, maxBody: Int = 65536, maxInterimResponses: Int = 4) {
        self.maxStatusLine = maxStatusLine
        self.maxHeaderLine = maxHeaderLine
        self.maxHeaders = maxHeaders
        self.maxHeaderSection = maxHeaderSection
        self.maxBody = maxBody
        self.maxInterimResponses = maxInterimResponses
    }
}

/// Why a response cannot be read. After one the connection is closed.
public enum HTTPResponseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Malformed syntax; the text says what.
    case malformed(String)
    /// A line, the field count or the header section is over its limit.
    case headTooLarge(String)
    case bodyTooLarge
    /// The connection ended before the response did.
    case truncated
    /// A major version other than 1, or a protocol switch we never asked for.
    case unsupported(String)

    public var description: String {
        switch self {
        case .malformed(let why): "malformed response: \(why)"
        case .headTooLarge(let why): "response head too large: \(why)"
        case .bodyTooLarge: "response body too large"
        case .truncated: "connection closed before the response ended"
        case .unsupported(let why): "unsupported response: \(why)"
        }
    }
}

/// What the response parser found in the bytes it was given.
public enum HTTPResponseParseResult: Sendable, Hashable {
    case response(HTTPClientResponse)
    case failure(HTTPResponseError)
}
