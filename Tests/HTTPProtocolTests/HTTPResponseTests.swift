// Response bytes (status line, fields, length, Date, close, HEAD without a
// body, CR/LF stripped from fields) and IMF-fixdate formatting.
import HTTPProtocol
import Testing

let date = "Sun, 06 Nov 1994 08:49:37 GMT"

@Test func textResponseSerializesExactly() {
    let bytes = HTTPResponse.text(.ok, "ok").serialized(keepAlive: true, omitBody: false, date: date)
    #expect(String(decoding: bytes, as: UTF8.self) == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + "Content-Length: 3\r\nDate: \(date)\r\n\r\nok\n")
}

@Test func closingResponseSaysConnectionClose() {
    let bytes = HTTPResponse.text(.serviceUnavailable, "down").serialized(keepAlive: false, omitBody: false, date: date)
    #expect(String(decoding: bytes, as: UTF8.self).contains("\r\nConnection: close\r\n\r\ndown\n"))
}

@Test func headResponseKeepsTheLengthAndDropsTheBody() {
    let bytes = HTTPResponse.text(.ok, "12345").serialized(keepAlive: true, omitBody: true, date: date)
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(text.contains("Content-Length: 6\r\n") && text.hasSuffix("\r\n\r\n"))
}

@Test func lineBreaksInFieldsCannotSplitTheResponse() {
    let response = HTTPResponse(status: .ok, headers: [HTTPHeader("X-A", "1\r\nSet-Cookie: x=1")], body: [])
    let text = String(decoding: response.serialized(keepAlive: true, omitBody: false, date: date), as: UTF8.self)
    #expect(text.contains("X-A: 1Set-Cookie: x=1\r\n"))
}

@Test(arguments: [
    (HTTPRequestError.badRequest("x"), "400 Bad Request"),
    (.methodNotAllowed(Array("POST".utf8)), "405 Method Not Allowed"),
    (.contentTooLarge, "413 Content Too Large"),
    (.uriTooLong, "414 URI Too Long"),
    (.headerFieldsTooLarge("x"), "431 Request Header Fields Too Large"),
    (.versionNotSupported, "505 HTTP Version Not Supported"),
])
func errorResponsesCarryTheirStatusLine(error: HTTPRequestError, statusLine: String) {
    let bytes = HTTPResponse.error(error).serialized(keepAlive: false, omitBody: false, date: date)
    #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 \(statusLine)\r\n"))
}

@Test func methodNotAllowedNamesTheMethodsServed() {
    #expect(HTTPResponse.error(.methodNotAllowed(Array("PUT".utf8))).headers.contains(HTTPHeader("Allow", "GET, HEAD")))
}

@Test(arguments: [
    (Int64(0), "Thu, 01 Jan 1970 00:00:00 GMT"),
    (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
    (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
    (1_709_251_199, "Thu, 29 Feb 2024 23:59:59 GMT"),
    (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
    (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
    (-5, "Thu, 01 Jan 1970 00:00:00 GMT"),
])
func httpDateFormatsIMFFixdate(seconds: Int64, expected: String) {
    #expect(HTTPDate.format(secondsSinceEpoch: seconds) == expected)
}
