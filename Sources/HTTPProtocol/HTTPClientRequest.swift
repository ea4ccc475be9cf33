// An HTTP/1.1 request as bytes, for our own client: request line, Host, the
// caller's fields, Content-Length and "Connection: close" (one request per
// connection), then the body. Targets, names and values come from config and
// our own code; CR, LF and NUL are dropped so that nothing can split the request.

public struct HTTPClientRequest: Sendable, Hashable {
    public var method: String
    /// Origin form: "/path?query".
    public var target: String
    /// The Host field: host, with ":port" when not the scheme's default.
    public var host: String
    public var headers: [HTTPHeader]
    public var body: [UInt8]

    public init(method: String, target: String, host: String, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.host = host
        self.headers = headers
        self.body = body
    }

    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + body.count)
        Self.appendClean(method.utf8.filter { $0 != 0x20 }, to: &out)
        out.append(0x20)
        Self.appendClean(target.utf8.filter { $0 != 0x20 }, to: &out)
        out.append(contentsOf: " HTTP/1.1\r\n".utf8)
        var fields = [HTTPHeader("Host", host)]
        fields += headers.filter { !$0.hasName("Host") && !$0.hasName("Content-Length")
            && !$0.hasName("Connection") && !$0.hasName("Transfer-Encoding") }
        fields.append(HTTPHeader("Content-Length", String(body.count)))
        fields.append(HTTPHeader("Connection", "close"))
        for field in fields {
            Self.appendClean(field.name.filter { $0 != UInt8(ascii: ":") && $0 != 0x20 }, to: &out)
            out.append(contentsOf: ": ".utf8)
            Self.appendClean(field.value, to: &out)
            out.append(contentsOf: [0x0D, 0x0A])
        }
        out.append(contentsOf: [0x0D, 0x0A])
        out.append(contentsOf: body)
        return out
    }

    private static func appendClean<Bytes: Sequence>(_ bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        for byte in bytes where byte != 0x0D && byte != 0x0A && byte != 0x00 { out.append(byte) }
    }
}
