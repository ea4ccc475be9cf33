// OAuth2 pure parts: the JSON object reader (valid and hostile documents, fed
// whole), the token endpoint's answers (RFC 6749 §5.1 and §5.2), the refresh
// timing by lifetime and jitter, the shared row's encoding, the form body, and which
// refused tokens earn a refresh (OAuth2Refusals).
import Testing
@testable import MailCore

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct JSONObjectReaderTests {
    @Test(arguments: [
        (#"{}"#, [String: JSONScalar]()),
        (#" { "a" : "b" } "#, ["a": .string("b")]),
        (#"{"n":3600,"f":-1.5e3,"t":true,"x":false,"z":null}"#,
         ["n": .number("3600"), "f": .number("-1.5e3"), "t": .bool(true), "x": .bool(false), "z": .null]),
        (#"{"o":{"a":[1,{"b":[]}]},"k":"v"}"#, ["o": .nested, "k": .string("v")]),
        (#"{"e":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#, ["e": .string("a\"b\\c/d\né😀")]),
    ] as [(String, [String: JSONScalar])])
    func accepted(text: String, expected: [String: JSONScalar]) {
        #expect(JSONObjectReader.members(bytes(text)) == expected)
    }

    @Test(arguments: [
        "", "[]", "\"a\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1}x", "{\"a\":01}", "{\"a\":1.}",
        "{\"a\":+1}", "{\"a\":tru}", "{a:1}", "{\"a\":\"\n\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":1,\"a\":2}", "{\"a\":[1,]}", "{\"a\":'b'}",
        String(repeating: "{\"a\":", count: 40) + "1" + String(repeating: "}", count: 40),
        "{\"a\":" + String(repeating: "[", count: 100_000) + "}",
    ])
    func refused(text: String) {
        #expect(JSONObjectReader.members(bytes(text)) == nil)
    }

    @Test func invalidUTF8InAStringIsRefused() {
        #expect(JSONObjectReader.members([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D]) == nil)
    }
}

@Suite struct OAuth2TokenResponseTests {
    @Test(arguments: [
        (200, #"{"access_token":"ya29.A-b_c","expires_in":3599,"token_type":"Bearer","scope":"x"}"#,
         OAuth2Grant(accessToken: "ya29.A-b_c", expiresIn: 3599, refreshToken: nil)),
        (200, #"{"access_token":"t","expires_in":"3600","token_type":"bearer","refresh_token":"r2"}"#,
         OAuth2Grant(accessToken: "t", expiresIn: 3600, refreshToken: "r2")),
        (200, #"{"access_token":"t"}"#, OAuth2Grant(accessToken: "t", expiresIn: nil, refreshToken: nil)),
        (201, #"{"access_token":"t","expires_in":null,"refresh_token":null}"#,
         OAuth2Grant(accessToken: "t", expiresIn: nil, refreshToken: nil)),
        (200, #"{"access_token":"t","expires_in":99999999999999999999999}"#,
         OAuth2Grant(accessToken: "t", expiresIn: OAuth2TokenResponse.maxExpiresIn, refreshToken: nil)),
    ] as [(Int, String, OAuth2Grant)])
    func grants(status: Int, body: String, expected: OAuth2Grant) {
        #expect(OAuth2TokenResponse.parse(status: status, body: bytes(body)) == .success(expected))
    }

    @Test(arguments: [
        (400, #"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
         OAuth2TokenProblem.refused(status: 400, error: "invalid_grant")),
        (401, #"{"error":"invalid_client\r\nX: \"y\""}"#, .refused(status: 401, error: "invalid_clientX: y")),
        (200, #"{"error":"temporarily_unavailable"}"#, .refused(status: 200, error: "temporarily_unavailable")),
        (503, "<html>busy</html>", .httpStatus(503)),
        (200, "<html>ok</html>", .malformed("not a JSON object")),
        (200, #"{"token":"t"}"#, .malformed("no access_token string")),
        (200, #"{"access_token":3}"#, .malformed("no access_token string")),
        (200, #"{"access_token":""}"#, .malformed("access_token is empty, too long or not visible ASCII")),
        (200, #"{"access_token":"a b"}"#, .malformed("access_token is empty, too long or not visible ASCII")),
        (200, #"{"access_token":"a\u0001auth=x"}"#, .malformed("access_token is empty, too long or not visible ASCII")),
        (200, #"{"access_token":"t","token_type":"mac"}"#, .malformed("token_type is a string, not Bearer")),
        (200, #"{"access_token":"t","expires_in":-5}"#, .malformed("expires_in is not a whole number of seconds")),
        (200, #"{"access_token":"t","expires_in":1.5}"#, .malformed("expires_in is not a whole number of seconds")),
        (200, #"{"access_token":"t","expires_in":"soon"}"#, .malformed("expires_in is not a whole number of seconds")),
        (200, #"{"access_token":"t","expires_in":true}"#, .malformed("expires_in is a boolean")),
        (200, #"{"access_token":"t","refresh_token":["r"]}"#, .malformed("refresh_token is an object or array")),
        (200, #"{"access_token":"t","refresh_token":"r r"}"#,
         .malformed("refresh_token is empty, too long or not visible ASCII")),
    ] as [(Int, String, OAuth2TokenProblem)])
    func problems(status: Int, body: String, expected: OAuth2TokenProblem) {
        #expect(OAuth2TokenResponse.parse(status: status, body: bytes(body)) == .failure(expected))
    }

    @Test func overlongTokenIsRefused() {
        let body = #"{"access_token":""# + String(repeating: "a", count: OAuth2TokenResponse.maxTokenLength + 1) + #""}"#
        #expect(OAuth2TokenResponse.parse(status: 200, body: bytes(body))
            == .failure(.malformed("access_token is empty, too long or not visible ASCII")))
    }

    @Test func descriptionNeverShowsTheToken() {
        let grant = OAuth2Grant(accessToken: "secret-access", expiresIn: 60, refreshToken: "secret-refresh")
        #expect(!"\(grant)".contains("secret"))
    }
}

@Suite struct OAuth2RefreshTimingTests {
    /// (lifetime, jitter) -> refresh after (ms from obtained), usable until (ms from obtained).
    @Test(arguments: [
        (3600, 0.0, 2_880_000, 3_570_000),   // 80%: 12 minutes ahead beats 5 minutes
        (600, 0.0, 300_000, 570_000),        // 5 minutes ahead beats 80%
        (1000, 0.0, 700_000, 970_000),
        (3, 0.0, 1500, 2700),                // short-lived: half-way
        (3, 1.0, 1350, 2700),                // jitter: earlier by a tenth of the lead
        (3600, 1.0, 2_808_000, 3_570_000),
        (3600, 7.0, 2_808_000, 3_570_000),   // jitter clamped to 1
        (0, 0.0, 0, 0),
    ] as [(Int, Double, Int64, Int64)])
    func schedule(lifetime: Int, jitter: Double, refreshAfter: Int64, usableFor: Int64) {
        let token = OAuth2TokenLifetime(obtainedAtMilliseconds: 1_000_000, expiresIn: lifetime)
        #expect((token.refreshAtMilliseconds(jitter: jitter) - 1_000_000, token.usableUntilMilliseconds - 1_000_000)
            == (refreshAfter, usableFor))
    }

    @Test func missingLifetimeAssumesAnHour() {
        #expect(OAuth2TokenLifetime(obtainedAtMilliseconds: 0, expiresIn: nil).expiresAtMilliseconds == 3_600_000)
    }

    @Test(arguments: [(0, true), (2699, true), (2700, false), (5000, false)] as [(Int64, Bool)])
    func usability(after: Int64, usable: Bool) {
        let token = OAuth2TokenLifetime(obtainedAtMilliseconds: 10_000, expiresIn: 3)
        #expect(token.isUsable(atMilliseconds: 10_000 + after) == usable)
    }
}

@Suite struct OAuth2SharedTokenTests {
    @Test(arguments: [nil, "rotated-refresh"] as [String?])
    func roundTrip(refresh: String?) {
        let token = OAuth2SharedToken(fingerprint: "abc", lifetime: OAuth2TokenLifetime(obtainedAtMilliseconds: 42,
                                                                                       expiresIn: 3599),
                                      accessToken: "ya29.x", refreshToken: refresh)
        #expect(OAuth2SharedToken.decode(token.encoded()) == token)
    }

    @Test(arguments: [
        "", "mailgate-oauth2-v1\nf\n1\n60\nt", "mailgate-oauth2-v2\nf\n1\n60\nt\n", "mailgate-oauth2-v1\n\n1\n60\nt\n",
        "mailgate-oauth2-v1\nf\n-1\n60\nt\n", "mailgate-oauth2-v1\nf\n1\nx\nt\n", "mailgate-oauth2-v1\nf\n1\n60\n\n",
        "mailgate-oauth2-v1\nf\n1\n60\nt t\n", "mailgate-oauth2-v1\nf\n1\n60\nt\nr\nextra",
    ])
    func refused(text: String) {
        #expect(OAuth2SharedToken.decode(bytes(text)) == nil)
    }

    @Test func descriptionNeverShowsTheToken() {
        let token = OAuth2SharedToken(fingerprint: "f", lifetime: OAuth2TokenLifetime(obtainedAtMilliseconds: 0,
                                                                                     expiresIn: 1),
                                      accessToken: "secret-a", refreshToken: "secret-r")
        #expect(!"\(token)".contains("secret"))
    }
}

@Suite struct OAuth2RefreshRequestTests {
    @Test func confidentialClientBody() {
        let body = OAuth2RefreshRequest.body(refreshToken: "1//0g-x_y.z~", clientID: "id", hasSecret: true, scope: nil)
        #expect(String(decoding: body, as: UTF8.self) == "grant_type=refresh_token&refresh_token=1%2F%2F0g-x_y.z~")
    }

    @Test func publicClientBodyCarriesClientIDAndScope() {
        let body = OAuth2RefreshRequest.body(refreshToken: "r", clientID: "a b&c", hasSecret: false,
                                             scope: "https://mail.google.com/ offline")
        #expect(String(decoding: body, as: UTF8.self)
            == "grant_type=refresh_token&refresh_token=r&scope=https%3A%2F%2Fmail.google.com%2F+offline&client_id=a+b%26c")
    }

    @Test func basicAuthorizationEncodesBeforeBase64() {
        // RFC 6749 §2.3.1: "s3:cr=t" is form-encoded to "s3%3Acr%3Dt" first.
        #expect(OAuth2RefreshRequest.basicAuthorization(clientID: "mg", secret: "s3:cr=t")
            == "Basic " + String(decoding: Base64.encode(Array("mg:s3%3Acr%3Dt".utf8)), as: UTF8.self))
    }

    @Test func nonASCIIIsPercentEncodedByteByByte() {
        #expect(OAuth2RefreshRequest.formComponent("é") == Array("%C3%A9".utf8))
    }
}

@Suite struct OAuth2RefusalsTests {
    enum Event { case refused(String, current: String?), obtained(String) }

    /// Runs the events in order and returns what each refusal answered.
    private func verdicts(_ events: [Event]) -> [Bool] {
        var refusals = OAuth2Refusals()
        var answers: [Bool] = []
        for event in events {
            switch event {
            case .refused(let token, let current): answers.append(refusals.refused(token, current: current))
            case .obtained(let token): refusals.obtained(token)
            }
        }
        return answers
    }

    @Test(arguments: [
        // The token in use refused: a refresh; the token it forced refused too: a login failure.
        ([.obtained("t1"), .refused("t1", current: "t1"), .obtained("t2"), .refused("t2", current: "t2")],
         [true, false]),
        // A second login refused with the same token while the refresh runs: it waits for the same refresh.
        ([.obtained("t1"), .refused("t1", current: "t1"), .refused("t1", current: "t1"), .obtained("t2")],
         [true, true]),
        // A late refusal of a replaced token: retry with the current one, and the next scheduled
        // refresh is not a forced one, so its token refused earns a refresh of its own.
        ([.obtained("t1"), .refused("t1", current: "t1"), .obtained("t2"), .refused("t1", current: "t2"),
          .obtained("t3"), .refused("t3", current: "t3")],
         [true, true, true]),
        // A forced token replaced by a scheduled refresh and refused late: retry with the current one.
        ([.obtained("t1"), .refused("t1", current: "t1"), .obtained("t2"), .obtained("t3"), .refused("t2", current: "t3")],
         [true, true]),
        // Scheduled refreshes only: each refusal earns a refresh.
        ([.obtained("t1"), .obtained("t2"), .refused("t2", current: "t2"), .obtained("t3"), .obtained("t4"),
          .refused("t4", current: "t4")],
         [true, true]),
    ] as [([Event], [Bool])])
    func refusalAnswers(events: [Event], expected: [Bool]) {
        #expect(verdicts(events) == expected)
    }

    @Test func aRefusedTokenIsNotUsableUntilReplaced() {
        var refusals = OAuth2Refusals()
        refusals.obtained("t1")
        _ = refusals.refused("t1", current: "t1")
        #expect(!refusals.usable("t1"))
        refusals.obtained("t2")
        #expect(refusals.usable("t2") && refusals.rejected == nil && refusals.forced == "t2")
    }

    @Test func aLateRefusalOfAReplacedTokenMarksNothing() {
        var refusals = OAuth2Refusals()
        _ = refusals.refused("t1", current: "t1")
        refusals.obtained("t2")
        _ = refusals.refused("t1", current: "t2")
        #expect(refusals.rejected == nil && refusals.usable("t2"))
    }
}
