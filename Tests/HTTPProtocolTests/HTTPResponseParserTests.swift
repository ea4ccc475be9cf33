// The client's response parser fed whole and one byte at a time: each body
// framing (Content-Length, chunked with extensions and trailers, until close,
// none for 204/304), interim 1xx answers, and every refused shape (smuggling
// pairs, conflicting lengths, folding, controls, oversize heads and bodies,
// truncation), plus random bytes that must end in an answer or a wait, never a crash.
import HTTPProtocol
import Testing

/// Feeds `bytes` in chunks of `chunk`, then (when `close`) the end of input; the first answer.
func parseResponse(_ bytes: [UInt8], chunk: Int, close: Bool = true,
                   limits: HTTPResponseLimits = HTTPResponseLimits()) -> HTTPResponseParseResult? {
    var parser = HTTPResponseParser(limits: limits)
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + max(1, chunk))
        parser.append(Array(bytes[offset..<end]))
        offset = end
        if let result = parser.next() { return result }
    }
    return close ? parser.endOfInput() : parser.next()
}

struct ResponseCase: Sendable, CustomStringConvertible {
    var name: String
    var text: String
    var status: Int
    var body: String
    /// Whether the answer needs the connection's end (a body read until close).
    var needsClose = false
    var description: String { name }
}

private let responseCases: [ResponseCase] = [
    ResponseCase(name: "content-length", text: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, body: "hello"),
    ResponseCase(name: "zero length", text: "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", status: 202, body: ""),
    ResponseCase(name: "bare LF lines", text: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, body: "ok"),
    ResponseCase(name: "empty reason", text: "HTTP/1.1 204 \r\n\r\n", status: 204, body: ""),
    ResponseCase(name: "no reason at all", text: "HTTP/1.0 500\r\nContent-Length: 1\r\n\r\nx", status: 500, body: "x"),
    ResponseCase(name: "204 ignores length", text: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                 status: 204, body: ""),
    ResponseCase(name: "304 has no body", text: "HTTP/1.1 304 Not Modified\r\n\r\n", status: 304, body: ""),
    ResponseCase(name: "chunked", text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + "4\r\nWiki\r\n5;ext=1\r\npedia\r\nC \r\n in\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n",
                 status: 200, body: "Wikipedia in\r\nchunks."),
    ResponseCase(name: "chunked upper-case hex", text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                 + "B\r\nhello world\r\n0\r\n\r\n", status: 200, body: "hello world"),
    ResponseCase(name: "until close", text: "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it", status: 200,
                 body: "all of it", needsClose: true),
    ResponseCase(name: "coding not chunked reads until close",
                 text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", status: 200, body: "zz", needsClose: true),
    ResponseCase(name: "100 continue skipped", text: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                 + "Content-Length: 3\r\n\r\nnew", status: 201, body: "new"),
    ResponseCase(name: "repeated equal lengths", text: "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n"
                 + "Content-Length: 2\r\n\r\nab", status: 200, body: "ab"),
    ResponseCase(name: "leading empty line", text: "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200, body: ""),
    ResponseCase(name: "extra bytes after the body ignored",
                 text: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 500 No\r\n\r\n", status: 200, body: "x"),
]

@Suite struct HTTPResponseParserTests {
    @Test(arguments: responseCases, [1, 3, 1000])
    func parsesValidResponse(_ valid: ResponseCase, chunk: Int) throws {
        let result = try #require(parseResponse(Array(valid.text.utf8), chunk: chunk))
        guard case .response(let response) = result else {
            Issue.record("\(valid.name): \(result)")
            return
        }
        #expect((response.status, String(decoding: response.body, as: UTF8.self)) == (valid.status, valid.body))
    }

    @Test(arguments: responseCases)
    func answerComesWithoutTheCloseUnlessBodyRunsToIt(_ valid: ResponseCase) {
        let early = parseResponse(Array(valid.text.utf8), chunk: 1, close: false)
        #expect((early == nil) == valid.needsClose)
    }

    @Test func fieldsAndReasonAreKept() throws {
        let result = parseResponse(Array("HTTP/1.1 404 Not Found\r\nX-A:  one \r\nx-a: two\r\nContent-Length: 0\r\n\r\n".utf8),
                                   chunk: 1)
        guard case .response(let response)? = result else {
            Issue.record("\(String(describing: result))")
            return
        }
        #expect(response.reason == Array("Not Found".utf8))
        #expect(response.values("X-A") == [Array("one".utf8), Array("two".utf8)])
        #expect(response.version == .http11)
        #expect(!response.isSuccess)
    }

    @Test(arguments: [
        ("length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         HTTPResponseError.malformed("both Transfer-Encoding and Content-Length")),
        ("conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
         .malformed("conflicting Content-Length values")),
        ("signed length", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc", .malformed("Content-Length value")),
        ("hex length", "HTTP/1.1 200 OK\r\nContent-Length: 0x3\r\n\r\nabc", .malformed("Content-Length value")),
        ("huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
         .malformed("Content-Length value")),
        ("length over the body limit", "HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n", .bodyTooLarge),
        ("chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
         .malformed("chunked applied twice")),
        ("chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .malformed("chunk size")),
        ("chunk size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n",
         .malformed("chunk size")),
        ("chunk size negative", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", .malformed("chunk size")),
        ("chunk longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n",
         .malformed("chunk data longer than its size")),
        ("chunks over the body limit", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n",
         .bodyTooLarge),
        ("folded field", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", .malformed("folded or indented header line")),
        ("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", .malformed("header field name")),
        ("no colon", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", .malformed("header line without a colon")),
        ("NUL in value", "HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\n\r\n", .malformed("control character in a header value")),
        ("bare CR in value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", .malformed("control character in a header value")),
        ("HTTP/2 status line", "HTTP/2.0 200 OK\r\n\r\n", .unsupported("HTTP major version")),
        ("not HTTP", "SMTP/1.1 200 OK\r\n\r\n", .malformed("status line is not HTTP/1.x SP CODE SP REASON")),
        ("four-digit code", "HTTP/1.1 2000 OK\r\n\r\n", .malformed("status code longer than 3 digits")),
        ("code below 100", "HTTP/1.1 099 Odd\r\n\r\n", .malformed("status code below 100")),
        ("switching protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
         .unsupported("101 Switching Protocols")),
        ("endless interim answers", String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 5),
         .malformed("too many 1xx responses")),
        ("cut in the head", "HTTP/1.1 200 OK\r\nContent-Len", .truncated),
        ("cut in the body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", .truncated),
        ("cut in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", .truncated),
        ("nothing at all", "", .truncated),
        ("status line too long", "HTTP/1.1 200 " + String(repeating: "x", count: 1100) + "\r\n\r\n",
         .headTooLarge("status line too long")),
        ("header line too long", "HTTP/1.1 200 OK\r\nX-A: " + String(repeating: "x", count: 9000) + "\r\n\r\n",
         .headTooLarge("header line too long or section too large")),
        ("too many fields", "HTTP/1.1 200 OK\r\n" + String(repeating: "X-A: 1\r\n", count: 101) + "\r\n",
         .headTooLarge("too many fields")),
        ("until-close body over the limit", "HTTP/1.0 200 OK\r\n\r\n" + String(repeating: "x", count: 65537),
         .bodyTooLarge),
        ("too many trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
         + String(repeating: "T: 1\r\n", count: 100) + "\r\n", .headTooLarge("too many fields")),
    ] as [(String, String, HTTPResponseError)])
    func refused(name: String, text: String, error: HTTPResponseError) {
        let whole = parseResponse(Array(text.utf8), chunk: 100_000)
        let byteByByte = parseResponse(Array(text.utf8), chunk: 1)
        #expect(whole == .failure(error), "\(name)")
        #expect(byteByByte == .failure(error), "\(name) byte by byte")
    }

    @Test func answerRepeatsAndLaterBytesAreIgnored() {
        var parser = HTTPResponseParser()
        parser.append(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8))
        let first = parser.next()
        parser.append(Array("garbage".utf8))
        #expect(parser.next() == first)
        #expect(parser.endOfInput() == first)
    }

    @Test(arguments: [("0", 0), ("a", 10), ("1F;name=value", 31), ("10 ;x", 16), ("fffffffffffffff", 0xfffffffffffffff)])
    func chunkSizes(line: String, size: Int) {
        var parser = HTTPResponseParser()
        parser.append(Array(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + line + "\r\n").utf8))
        // A size the body limit refuses still shows that the size itself was read.
        let result = parser.next()
        #expect(result == (size > 65536 ? .failure(.bodyTooLarge) : nil))
    }

    /// Random bytes over an HTTP-ish alphabet, seeded so any failure repeats: the parser answers or
    /// waits, never traps, and its buffer stays bounded.
    @Test func randomBytesNeverCrash() {
        var generator = SeededGenerator(seed: 0x5EED)
        let alphabet = Array("HTTP/1.1 200 OK\r\n:;, 0123456789abcdefABCDEF chunked Content-Length Transfer-Encoding\u{0}\n\r".utf8)
        for _ in 0..<2000 {
            let count = Int.random(in: 0...300, using: &generator)
            let bytes = (0..<count).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
            let prefix = Bool.random(using: &generator) ? Array("HTTP/1.1 200 OK\r\n".utf8) : []
            _ = parseResponse(prefix + bytes, chunk: Int.random(in: 1...17, using: &generator))
        }
    }
}

/// SplitMix64: deterministic random numbers for fuzz-style tests.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct HTTPClientRequestTests {
    @Test func postIsWrittenWithHostLengthAndClose() {
        let request = HTTPClientRequest(method: "POST", target: "/hook?x=1", host: "crm.example.test:8443",
                                        headers: [HTTPHeader("Content-Type", "application/json")],
                                        body: Array("{}".utf8))
        #expect(String(decoding: request.serialized(), as: UTF8.self)
            == "POST /hook?x=1 HTTP/1.1\r\nHost: crm.example.test:8443\r\nContent-Type: application/json\r\n"
            + "Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    }

    @Test(arguments: [
        ("CRLF in a value", HTTPHeader("X-A", "a\r\nX-Injected: 1"), "X-A: aX-Injected: 1\r\n"),
        ("NUL in a value", HTTPHeader("X-A", "a\u{0}b"), "X-A: ab\r\n"),
        ("colon in a name", HTTPHeader("X-A: b\r\nX-C", "d"), "X-AbX-C: d\r\n"),
        ("caller's length dropped", HTTPHeader("Content-Length", "99"), ""),
        ("caller's Host dropped", HTTPHeader("host", "evil.example"), ""),
    ] as [(String, HTTPHeader, String)])
    func fieldsCannotSplitTheRequest(name: String, field: HTTPHeader, line: String) {
        let request = HTTPClientRequest(method: "POST", target: "/", host: "h", headers: [field])
        #expect(String(decoding: request.serialized(), as: UTF8.self)
            == "POST / HTTP/1.1\r\nHost: h\r\n\(line)Content-Length: 0\r\nConnection: close\r\n\r\n", "\(name)")
    }

    @Test func writtenRequestIsReadBackByOurServerParser() {
        let request = HTTPClientRequest(method: "GET", target: "/health", host: "127.0.0.1:9187")
        var parser = HTTPRequestParser()
        parser.append(request.serialized())
        guard case .request(let parsed)? = parser.next() else {
            Issue.record("not parsed")
            return
        }
        #expect((parsed.pathIs("/health"), parsed.keepAlive) == (true, false))
    }
}
