// HTTP/1.1 responses as bytes: status line, the caller's fields, then
// Content-Length, Date and (when the connection ends) "Connection: close",
// then the body — left out for HEAD, with the length of the GET body kept.
// Field names and values come from our own code; CR and LF in them are
// dropped so that no caller can split a response.
import MailCore

public struct HTTPStatus: Sendable, Hashable {
    public var code: Int
    public var reason: String

    public init(_ code: Int, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static let ok = HTTPStatus(200, "OK")
    public static let badRequest = HTTPStatus(400, "Bad Request")
    public static let notFound = HTTPStatus(404, "Not Found")
    public static let methodNotAllowed = HTTPStatus(405, "Method Not Allowed")
    public static let requestTimeout = HTTPStatus(408, "Request Timeout")
    public static let contentTooLarge = HTTPStatus(413, "Content Too Large")
    public static let uriTooLong = HTTPStatus(414, "URI Too Long")
    public static let headerFieldsTooLarge = HTTPStatus(431, "Request Header Fields Too Large")
    public static let internalServerError = HTTPStatus(500, "Internal Server Error")
    public static let serviceUnavailable = HTTPStatus(503, "Service Unavailable")
    public static let versionNotSupported = HTTPStatus(505, "HTTP Version Not Supported")
}

public struct HTTPResponse: Sendable, Hashable {
    public var status: HTTPStatus
    public var headers: [HTTPHeader]
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A plain-text response (UTF-8), the body ending in a line feed.
    public static func text(_ status: HTTPStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [HTTPHeader("Content-Type", "text/plain; charset=utf-8")],
                     body: Array(text.utf8) + (text.hasSuffix("\n") ? [] : [UInt8(ascii: "\n")]))
    }

    /// The answer to a request the parser refused; 405 names the methods served.
    public static func error(_ error: HTTPRequestError) -> HTTPResponse {
        var response = text(error.status, error.description)
        if case .methodNotAllowed = error { response.headers.append(HTTPHeader("Allow", "GET, HEAD")) }
        return response
    }

    /// The bytes to send. `date` is an IMF-fixdate (HTTPDate); `omitBody` is for HEAD.
    public func serialized(keepAlive: Bool, omitBody: Bool, date: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + body.count)
        out.append(contentsOf: "HTTP/1.1 \(status.code) ".utf8)
        Self.appendClean(status.reason.utf8, to: &out)
        out.append(contentsOf: [0x0D, 0x0A])
        var fields = headers
        fields.append(HTTPHeader("Content-Length", String(body.count)))
        fields.append(HTTPHeader("Date", date))
        if !keepAlive { fields.append(HTTPHeader("Connection", "close")) }
        for field in fields {
            Self.appendClean(field.name, to: &out)
            out.append(contentsOf: ": ".utf8)
            Self.appendClean(field.value, to: &out)
            out.append(contentsOf: [0x0D, 0x0A])
        }
        out.append(contentsOf: [0x0D, 0x0A])
        if !omitBody { out.append(contentsOf: body) }
        return out
    }

    private static func appendClean<Bytes: Sequence>(_ bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        for byte in bytes where byte != 0x0D && byte != 0x0A { out.append(byte) }
    }
}

/// RFC 9110 §5.6.7 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
public enum HTTPDate {
    /// `seconds` since 1970-01-01T00:00:00Z; instants before 1970 read as the epoch.
    public static func format(secondsSinceEpoch seconds: Int64) -> String {
        CivilCalendar.fixedDate(unixSeconds: seconds, zone: "GMT")
    }
}
