// The request parser fed whole, in every split and one byte at a time: valid
// heads, pipelining, keep-alive rules, and every refused shape (smuggling,
// folding, controls, bodies, oversize lines and sections) with its status.
import HTTPProtocol
import Testing

/// Feeds `text` in chunks of `chunk` bytes, collecting everything the parser returns.
func parse(_ bytes: [UInt8], chunk: Int, limits: HTTPRequestLimits = HTTPRequestLimits()) -> [HTTPParseResult] {
    var parser = HTTPRequestParser(limits: limits)
    var results: [HTTPParseResult] = []
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunk)
        parser.append(Array(bytes[offset..<end]))
        offset = end
        while let result = parser.next() {
            results.append(result)
            if case .failure = result { return results }
        }
    }
    return results
}

func parse(_ text: String, chunk: Int = 1) -> [HTTPParseResult] { parse(Array(text.utf8), chunk: chunk) }

func firstError(_ text: String) -> HTTPRequestError? {
    for result in parse(text) { if case .failure(let error) = result { return error } }
    return nil
}

struct ValidRequest: Sendable, CustomStringConvertible {
    var text: String
    var method: HTTPMethod
    var path: String
    var query: String?
    var version: HTTPVersion
    var keepAlive: Bool
    var description: String { String(text.prefix(40)).replacingOccurrences(of: "\r\n", with: "⏎") }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

let validRequests: [ValidRequest] = [
    ValidRequest(text: "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9187\r\n\r\n",
                 method: .get, path: "/metrics", query: nil, version: .http11, keepAlive: true),
    ValidRequest(text: "HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 method: .head, path: "/health", query: nil, version: .http11, keepAlive: false),
    ValidRequest(text: "GET /metrics?name[]=x HTTP/1.0\r\n\r\n",
                 method: .get, path: "/metrics", query: "name[]=x", version: .http10, keepAlive: false),
    ValidRequest(text: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                 method: .get, path: "/", query: nil, version: .http10, keepAlive: true),
    ValidRequest(text: "GET http://example.test:9187/metrics?a=1 HTTP/1.1\r\nHost: example.test:9187\r\n\r\n",
                 method: .get, path: "/metrics", query: "a=1", version: .http11, keepAlive: true),
    ValidRequest(text: "GET HTTPS://example.test HTTP/1.1\r\nHost: example.test\r\n\r\n",
                 method: .get, path: "/", query: nil, version: .http11, keepAlive: true),
    ValidRequest(text: "\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                 method: .get, path: "/health", query: nil, version: .http11, keepAlive: true),
    ValidRequest(text: "GET /health HTTP/1.1\r\nhost:x\r\nContent-Length: 0\r\nAccept: */*\r\n\r\n",
                 method: .get, path: "/health", query: nil, version: .http11, keepAlive: true),
    ValidRequest(text: "GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n",
                 method: .get, path: "/health", query: nil, version: .http11, keepAlive: false),
    ValidRequest(text: "GET /health HTTP/1.9\r\nHost: x\r\n\r\n",
                 method: .get, path: "/health", query: nil, version: HTTPVersion(major: 1, minor: 9), keepAlive: true),
    ValidRequest(text: "GET /caf%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n",
                 method: .get, path: "/caf%C3%A9", query: nil, version: .http11, keepAlive: true),
]

@Test(arguments: validRequests, [1, 2, 7, 4096])
func validRequestParses(_ fixture: ValidRequest, chunk: Int) {
    let results = parse(Array(fixture.text.utf8), chunk: chunk)
    guard results.count == 1, case .request(let request) = results[0] else {
        Issue.record("expected one request, got \(results)")
        return
    }
    #expect(request.method == fixture.method && request.path == Array(fixture.path.utf8)
        && request.query == fixture.query.map { Array($0.utf8) } && request.version == fixture.version
        && request.keepAlive == fixture.keepAlive)
}

@Test func headersKeepTheirBytesWithoutSurroundingWhitespace() {
    let results = parse("GET /metrics HTTP/1.1\r\nHost: a\r\nX-Odd:  \t v\u{00e9}lue \t \r\nEmpty:\r\n\r\n")
    guard case .request(let request) = results.first else {
        Issue.record("no request: \(results)")
        return
    }
    #expect(request.headers == [HTTPHeader("Host", "a"), HTTPHeader("X-Odd", "v\u{00e9}lue"), HTTPHeader("Empty", "")])
}

@Test(arguments: [1, 3, 1000])
func pipelinedRequestsComeOutInOrder(chunk: Int) {
    let text = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nHEAD /health HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"
    let paths = parse(Array(text.utf8), chunk: chunk).compactMap { result -> String? in
        guard case .request(let request) = result else { return nil }
        return String(decoding: request.path, as: UTF8.self)
    }
    #expect(paths == ["/metrics", "/health", "/x"])
}

@Test func parserIsIdleBetweenRequestsAndNotInOne() {
    var parser = HTTPRequestParser()
    parser.append(Array("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nGET".utf8))
    _ = parser.next()
    #expect(!parser.isIdle && parser.next() == nil)
}

struct RefusedRequest: Sendable, CustomStringConvertible {
    var name: String
    var text: String
    var status: Int
    var description: String { name }
}

let longTarget = "/" + String(repeating: "a", count: 8200)
let longValue = String(repeating: "v", count: 8200)
let manyHeaders = (0..<65).map { "X-H\($0): 1\r\n" }.joined()
let bigSection = (0..<17).map { "X-H\($0): \(String(repeating: "b", count: 1000))\r\n" }.joined()

let refusedRequests: [RefusedRequest] = [
    RefusedRequest(name: "bare LF line ends", text: "GET /metrics HTTP/1.1\nHost: x\n\n", status: 400),
    RefusedRequest(name: "bare LF in the header section", text: "GET / HTTP/1.1\r\nHost: x\n\r\n", status: 400),
    RefusedRequest(name: "bare CR in the target", text: "GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "two spaces", text: "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "tab separator", text: "GET\t/metrics HTTP/1.1\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "missing version", text: "GET /metrics\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "HTTP/0.9 style", text: "GET /\r\n\r\n", status: 400),
    RefusedRequest(name: "lower-case protocol", text: "GET / http/1.1\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "version with two digits", text: "GET / HTTP/1.10\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "HTTP/2.0", text: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", status: 505),
    RefusedRequest(name: "HTTP/2 preface", text: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 505),
    RefusedRequest(name: "bad method character", text: "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "non-ASCII target", text: "GET /caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "relative target", text: "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "absolute target without host", text: "GET http:///metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                   status: 400),
    RefusedRequest(name: "too many empty lines first", text: "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
                   status: 400),
    RefusedRequest(name: "no Host in HTTP/1.1", text: "GET /metrics HTTP/1.1\r\n\r\n", status: 400),
    RefusedRequest(name: "two Host fields", text: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400),
    RefusedRequest(name: "obs-fold", text: "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", status: 400),
    RefusedRequest(name: "whitespace before the first field", text: "GET / HTTP/1.1\r\n Host: x\r\n\r\n", status: 400),
    RefusedRequest(name: "space before colon", text: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", status: 400),
    RefusedRequest(name: "field without colon", text: "GET / HTTP/1.1\r\nHost x\r\n\r\n", status: 400),
    RefusedRequest(name: "empty field name", text: "GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n", status: 400),
    RefusedRequest(name: "NUL in a value", text: "GET / HTTP/1.1\r\nHost: x\u{0}y\r\n\r\n", status: 400),
    RefusedRequest(name: "DEL in a value", text: "GET / HTTP/1.1\r\nHost: x\u{7f}\r\n\r\n", status: 400),
    RefusedRequest(name: "CR inside a value", text: "GET / HTTP/1.1\r\nHost: x\rX-B: 1\r\n\r\n", status: 400),
    RefusedRequest(name: "Content-Length and Transfer-Encoding",
                   text: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
                   status: 400),
    RefusedRequest(name: "conflicting Content-Length",
                   text: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n", status: 400),
    RefusedRequest(name: "Content-Length list", text: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 0\r\n\r\n",
                   status: 400),
    RefusedRequest(name: "negative Content-Length", text: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                   status: 400),
    RefusedRequest(name: "signed Content-Length", text: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n",
                   status: 400),
    RefusedRequest(name: "Transfer-Encoding in HTTP/1.0", text: "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                   status: 400),
    RefusedRequest(name: "POST", text: "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
                   status: 405),
    RefusedRequest(name: "DELETE", text: "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", status: 405),
    RefusedRequest(name: "lower-case get", text: "get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", status: 405),
    RefusedRequest(name: "OPTIONS *", text: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", status: 405),
    RefusedRequest(name: "GET with a body", text: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
                   status: 413),
    RefusedRequest(name: "GET chunked", text: "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   status: 413),
    RefusedRequest(name: "huge Content-Length",
                   text: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\n\r\n", status: 413),
    RefusedRequest(name: "request line over 8 KiB", text: "GET \(longTarget) HTTP/1.1\r\nHost: x\r\n\r\n", status: 414),
    RefusedRequest(name: "header line over 8 KiB", text: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(longValue)\r\n\r\n",
                   status: 431),
    RefusedRequest(name: "65 header fields", text: "GET / HTTP/1.1\r\nHost: x\r\n\(manyHeaders)\r\n", status: 431),
    RefusedRequest(name: "header section over 16 KiB", text: "GET / HTTP/1.1\r\nHost: x\r\n\(bigSection)\r\n",
                   status: 431),
]

@Test(arguments: refusedRequests)
func refusedRequestGetsItsStatus(_ fixture: RefusedRequest) {
    #expect(firstError(fixture.text)?.status.code == fixture.status)
}

@Test(arguments: refusedRequests)
func refusedRequestGetsItsStatusWhenFedWhole(_ fixture: RefusedRequest) {
    let results = parse(Array(fixture.text.utf8), chunk: 1 << 20)
    guard case .failure(let error) = results.last else {
        Issue.record("no failure: \(results)")
        return
    }
    #expect(error.status.code == fixture.status)
}

@Test func aRequestBeforeARefusedOneStillComesOut() {
    let results = parse("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\nHost: x\r\n\r\n")
    #expect(results.count == 2 && results.first.map { if case .request = $0 { true } else { false } } == true)
}

@Test func failureIsStickyAndDropsLaterBytes() {
    var parser = HTTPRequestParser()
    parser.append(Array("BAD\r\n".utf8))
    _ = parser.next()
    parser.append(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
    #expect(parser.next() == .failure(.badRequest("request line is not METHOD SP TARGET SP VERSION"))
        && parser.bufferedByteCount == 0)
}

@Test func endlessRequestLineFailsBeforeTheBufferPassesTheLimit() {
    var parser = HTTPRequestParser()
    var result: HTTPParseResult?
    var peak = 0
    for _ in 0..<100 where result == nil {
        parser.append([UInt8](repeating: UInt8(ascii: "A"), count: 1000))
        result = parser.next()
        peak = max(peak, parser.bufferedByteCount)
    }
    #expect(result == .failure(.uriTooLong) && peak <= 8192 + 1000)
}

@Test func endlessHeaderLineFailsBeforeTheBufferPassesTheLimit() {
    var parser = HTTPRequestParser()
    parser.append(Array("GET / HTTP/1.1\r\nX-Flood: ".utf8))
    var result = parser.next()
    var peak = 0
    for _ in 0..<100 where result == nil {
        parser.append([UInt8](repeating: UInt8(ascii: "z"), count: 997))
        result = parser.next()
        peak = max(peak, parser.bufferedByteCount)
    }
    #expect(result == .failure(.headerFieldsTooLarge("header line too long")) && peak <= 8192 + 1000)
}

@Test func endlessHeaderSectionFailsAtItsLimit() {
    var parser = HTTPRequestParser()
    parser.append(Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8))
    var result = parser.next()
    var lines = 0
    while result == nil && lines < 1000 {
        parser.append(Array("X-A: \(String(repeating: "a", count: 500))\r\n".utf8))
        lines += 1
        result = parser.next()
    }
    #expect(result == .failure(.headerFieldsTooLarge("header section too large")))
}

@Test(arguments: [
    (8192, true), (8193, false),
])
func requestLineLimitIsExact(length: Int, accepted: Bool) {
    // "GET " + target + " HTTP/1.1" is `length` bytes.
    let target = "/" + String(repeating: "a", count: length - 4 - 9 - 1)
    let results = parse("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n", chunk: 512)
    let gotRequest = results.contains { if case .request = $0 { true } else { false } }
    #expect(gotRequest == accepted)
}

@Test(arguments: [64, 65])
func headerCountLimitIsExact(count: Int) {
    let fields = (1..<count).map { "X-H\($0): 1\r\n" }.joined()
    let results = parse("GET / HTTP/1.1\r\nHost: x\r\n\(fields)\r\n", chunk: 64)
    let gotRequest = results.contains { if case .request = $0 { true } else { false } }
    #expect(gotRequest == (count <= 64))
}

/// Random bytes from the HTTP alphabet: the parser answers or asks for more, never traps.
@Test func randomInputNeverTraps() {
    var generator = SplitMix(seed: 0x5EED)
    let alphabet = Array("GETHOST /:\r\n\t -0123456789aH\u{0}\u{7f}".utf8) + [0xC3, 0xFF]
    var outcomes = 0
    for _ in 0..<2000 {
        let length = Int(generator.next() % 200)
        let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        let prefixed = Array("GET / HTTP/1.1\r\n".utf8) + bytes
        outcomes += parse(prefixed, chunk: Int(generator.next() % 7) + 1).count
    }
    #expect(outcomes > 0)
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
