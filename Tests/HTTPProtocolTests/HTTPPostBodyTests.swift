// POST bodies, allowed only when the limits say so (the one-click unsubscribe endpoint): read
// exactly Content-Length bytes in any split, then the next pipelined request; chunked bodies,
// bodies over the limit and POST without a body allowance are refused.
import HTTPProtocol
import Testing

private let bodyLimits = HTTPRequestLimits(maxBodySize: 64)
private let oneClick = "POST /u/TOKEN HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    + "Content-Length: 26\r\n\r\nList-Unsubscribe=One-Click"

@Suite struct HTTPPostBodyTests {
    @Test(arguments: [1, 2, 7, 1000])
    func bodyIsReadWhole(_ chunk: Int) {
        let results = parse(Array(oneClick.utf8), chunk: chunk, limits: bodyLimits)
        guard results.count == 1, case .request(let request) = results[0] else {
            Issue.record("expected one request, got \(results)")
            return
        }
        #expect(request.method == .post)
        #expect(request.body == Array("List-Unsubscribe=One-Click".utf8))
    }

    @Test(arguments: [1, 5, 1000])
    func pipelinedRequestAfterABodyIsItsOwn(_ chunk: Int) {
        let text = oneClick + "GET /u/TOKEN HTTP/1.1\r\nHost: x\r\n\r\n"
        let results = parse(Array(text.utf8), chunk: chunk, limits: bodyLimits)
        let methods: [HTTPMethod] = results.compactMap { if case .request(let request) = $0 { request.method } else { nil } }
        #expect(methods == [.post, .get])
    }

    @Test func postWithoutBodyHasAnEmptyOne() {
        let results = parse(Array("POST /u/T HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8), chunk: 3,
                            limits: bodyLimits)
        guard case .request(let request)? = results.first else {
            Issue.record("no request")
            return
        }
        #expect(request.body.isEmpty)
    }

    struct Refusal: Sendable, CustomStringConvertible {
        var name: String
        var text: String
        var limits: HTTPRequestLimits
        var status: Int
        var description: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(name: "POST where no body is allowed", text: oneClick, limits: HTTPRequestLimits(), status: 405),
        Refusal(name: "body over the limit", text: "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n",
                limits: bodyLimits, status: 413),
        Refusal(name: "chunked body", text: "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                limits: bodyLimits, status: 413),
        Refusal(name: "GET with a body", text: "GET /u HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
                limits: bodyLimits, status: 413),
        Refusal(name: "conflicting lengths", text: "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                limits: bodyLimits, status: 400),
        Refusal(name: "huge length", text: "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                limits: bodyLimits, status: 413),
    ]

    @Test(arguments: refusals)
    func refused(_ refusal: Refusal) {
        let results = parse(Array(refusal.text.utf8), chunk: 1, limits: refusal.limits)
        guard case .failure(let error)? = results.last else {
            Issue.record("not refused: \(results)")
            return
        }
        #expect(error.status.code == refusal.status)
    }

    @Test func bodyStillArrivingIsNotARequest() {
        var parser = HTTPRequestParser(limits: bodyLimits)
        parser.append(Array(oneClick.utf8.dropLast(3)))
        #expect(parser.next() == nil)
        #expect(parser.isReadingBody)
    }
}
