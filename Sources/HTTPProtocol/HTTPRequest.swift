// The values a parsed HTTP/1.x request head carries, the limits the parser
// enforces, and the errors it reports, each tied to the status code a server
// answers it with (400, 405, 413, 414, 431, 505); a POST body only up to
// `maxBodySize` (one-click unsubscribe). Bytes stay bytes: names and
// values are [UInt8] as received (names compared ASCII case-insensitively).

public enum HTTPMethod: Sendable, Hashable {
    case get
    case head
    /// Accepted only when the limits allow a body (`maxBodySize` above 0).
    case post
    /// Any other syntactically valid method token; a server that serves only GET answers 405.
    case other([UInt8])

    init(token: ArraySlice<UInt8>) {
        if token.elementsEqual("GET".utf8) {
            self = .get
        } else if token.elementsEqual("HEAD".utf8) {
            self = .head
        } else if token.elementsEqual("POST".utf8) {
            self = .post
        } else {
            self = .other(Array(token))
        }
    }
}

public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

public struct HTTPHeader: Sendable, Hashable {
    public var name: [UInt8]
    /// Without the optional whitespace around it.
    public var value: [UInt8]

    public init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }

    public init(_ name: String, _ value: String) {
        self.init(name: Array(name.utf8), value: Array(value.utf8))
    }

    /// ASCII case-insensitive comparison of the field name.
    public func hasName(_ other: String) -> Bool {
        ASCII.equalsIgnoringCase(name[...], other)
    }
}

public struct HTTPRequest: Sendable, Hashable {
    public var method: HTTPMethod
    /// The request-target exactly as sent.
    public var target: [UInt8]
    /// The path of an origin-form or absolute-form target ("/" when an absolute one has none),
    /// or "*" for the asterisk form; never percent-decoded.
    public var path: [UInt8]
    /// What follows "?" in the target, if anything does.
    public var query: [UInt8]?
    public var version: HTTPVersion
    public var headers: [HTTPHeader]
    /// Whether the connection may carry another request after the response (HTTP/1.1 unless
    /// "Connection: close"; HTTP/1.0 only with "Connection: keep-alive").
    public var keepAlive: Bool
    /// The body of a POST (Content-Length bytes); empty for every other request.
    public var body: [UInt8]

    public init(method: HTTPMethod, target: [UInt8], path: [UInt8], query: [UInt8]?, version: HTTPVersion,
                headers: [HTTPHeader], keepAlive: Bool, body: [UInt8] = []) {
        self.body = body
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
    }

    /// The values of every field called `name`, in order.
    public func values(_ name: String) -> [[UInt8]] {
        headers.filter { $0.hasName(name) }.map(\.value)
    }

    public func pathIs(_ text: String) -> Bool { path.elementsEqual(text.utf8) }
}

public struct HTTPRequestLimits: Sendable, Hashable {
    /// Longest request line, CRLF excluded.
    public var maxRequestLine: Int
    /// Longest single header line, CRLF excluded.
    public var maxHeaderLine: Int
    /// Most header fields in one request.
    public var maxHeaders: Int
    /// All header lines of one request together.
    public var maxHeaderSection: Int
    /// Empty lines tolerated before a request line (RFC 9112 §2.2 asks for at least one).
    public var maxLeadingEmptyLines: Int
    /// Largest POST body accepted (Content-Length only, never chunked); 0: GET and HEAD only.
    public var maxBodySize: Int

    public init(maxRequestLine: Int = 8192, maxHeaderLine: Int = 8192, maxHeaders: Int = 64,
                maxHeaderSection: Int = 16384, maxLeadingEmptyLines: Int = 4, maxBodySize: Int = 0) {
        self.maxBodySize = maxBodySize
        self.maxRequestLine = maxRequestLine
        self.maxHeaderLine = maxHeaderLine
        self.maxHeaders = maxHeaders
        self.maxHeaderSection = maxHeaderSection
        self.maxLeadingEmptyLines = maxLeadingEmptyLines
    }
}

/// Why a request cannot be served. After one, the connection is answered and closed.
public enum HTTPRequestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Malformed syntax; the text says what (safe to show the client).
    case badRequest(String)
    /// A method other than GET or HEAD (or POST, when bodies are allowed).
    case methodNotAllowed([UInt8])
    /// The request carries a body (Transfer-Encoding, or a Content-Length above the limit).
    case contentTooLarge
    /// The request line is longer than the limit.
    case uriTooLong
    /// A header line, the header count or the header section is over its limit.
    case headerFieldsTooLarge(String)
    /// An HTTP major version other than 1.
    case versionNotSupported

    public var status: HTTPStatus {
        switch self {
        case .badRequest: .badRequest
        case .methodNotAllowed: .methodNotAllowed
        case .contentTooLarge: .contentTooLarge
        case .uriTooLong: .uriTooLong
        case .headerFieldsTooLarge: .headerFieldsTooLarge
        case .versionNotSupported: .versionNotSupported
        }
    }

    public var description: String {
        switch self {
        case .badRequest(let why): "bad request: \(why)"
        case .methodNotAllowed(let method): "method \(String(decoding: method, as: UTF8.self)) not allowed"
        case .contentTooLarge: "request bodies are not accepted"
        case .uriTooLong: "request line too long"
        case .headerFieldsTooLarge(let why): "header fields too large: \(why)"
        case .versionNotSupported: "HTTP version not supported"
        }
    }
}

/// What the parser found next in the bytes it was given.
public enum HTTPParseResult: Sendable, Hashable {
    case request(HTTPRequest)
    case failure(HTTPRequestError)
}

enum ASCII {
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ text: String) -> Bool {
        bytes.count == text.utf8.count && zip(bytes, text.utf8).allSatisfy { lower($0) == lower($1) }
    }

    /// RFC 9110 tchar: the characters of a token (method, field name).
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Field content: visible ASCII, space, tab and obs-text; never other controls or DEL.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}
