// Every pre-login command in every listener state, with the exact response:
// the STARTTLS port before TLS, the same port after STARTTLS, and the
// implicit-TLS port. Each case runs whole and one byte at a time.
import Testing
@testable import IMAPProtocol

enum ListenerState: String, CaseIterable, Sendable {
    case plainPort, afterSTARTTLS, tlsPort

    var implicitTLS: Bool { self == .tlsPort }
    var prelude: [ClientStep] { self == .afterSTARTTLS ? [.client("s STARTTLS\r\n"), .tlsUp] : [] }
}

struct CommandCase: CustomTestStringConvertible, Sendable {
    let state: ListenerState
    let command: String
    let expected: [String]
    var testDescription: String { "[\(state.rawValue)] \(command.prefix(40))" }
}

let plainCaps = "IMAP4rev1 STARTTLS LOGINDISABLED ID LITERAL-"
let tlsCaps = "IMAP4rev1 SASL-IR ID LITERAL- AUTH=PLAIN"
let privacyLogin = ["a NO [PRIVACYREQUIRED] Run STARTTLS before LOGIN"]
let privacyAuth = ["a NO [PRIVACYREQUIRED] Run STARTTLS before AUTHENTICATE"]
let loggedIn = ["a OK [CAPABILITY \(dovecotVisible)] Logged in"]
let authFailed = ["a NO [AUTHENTICATIONFAILED] Authentication failed"]

/// Responses to each command in ListenerState.allCases order (plainPort, afterSTARTTLS, tlsPort).
let preLoginMatrix: [(command: String, expected: [[String]])] = [
    ("a CAPABILITY", [["* CAPABILITY \(plainCaps)", "a OK CAPABILITY completed"],
                      ["* CAPABILITY \(tlsCaps)", "a OK CAPABILITY completed"],
                      ["* CAPABILITY \(tlsCaps)", "a OK CAPABILITY completed"]]),
    ("a capability", [["* CAPABILITY \(plainCaps)", "a OK CAPABILITY completed"],
                      ["* CAPABILITY \(tlsCaps)", "a OK CAPABILITY completed"],
                      ["* CAPABILITY \(tlsCaps)", "a OK CAPABILITY completed"]]),
    ("a CAPABILITY now", Array(repeating: ["a BAD CAPABILITY takes no arguments"], count: 3)),
    ("a NOOP", Array(repeating: ["a OK NOOP completed"], count: 3)),
    ("a NOOP x", Array(repeating: ["a BAD NOOP takes no arguments"], count: 3)),
    ("a LOGOUT", Array(repeating: ["* BYE Logging out", "a OK LOGOUT completed"], count: 3)),
    ("a LOGOUT x", Array(repeating: ["a BAD LOGOUT takes no arguments"], count: 3)),
    ("a STARTTLS", [["a OK Begin TLS negotiation now"], ["a BAD TLS is already active"], ["a BAD TLS is already active"]]),
    ("a STARTTLS x", Array(repeating: ["a BAD STARTTLS takes no arguments"], count: 3)),
    ("a ID NIL", Array(repeating: ["* ID (\"name\" \"mailgate\")", "a OK ID completed"], count: 3)),
    ("a ID (\"name\" \"Thunderbird\" \"version\" NIL)", Array(repeating: ["* ID (\"name\" \"mailgate\")", "a OK ID completed"], count: 3)),
    ("a ID ()", Array(repeating: ["* ID (\"name\" \"mailgate\")", "a OK ID completed"], count: 3)),
    ("a ID", Array(repeating: ["a BAD ID takes one argument"], count: 3)),
    ("a ID (\"name\")", Array(repeating: ["a BAD Invalid ID parameter list"], count: 3)),
    ("a ID \"name\"", Array(repeating: ["a BAD Invalid ID parameter list"], count: 3)),
    ("a ID (name \"x\")", Array(repeating: ["a BAD Invalid ID field"], count: 3)),
    ("a ID (\"name\" x)", Array(repeating: ["a BAD Invalid ID value"], count: 3)),
    ("a ID (\"\(String(repeating: "f", count: 31))\" \"x\")", Array(repeating: ["a BAD Invalid ID field"], count: 3)),
    ("a LOGIN alice secret", [privacyLogin, loggedIn, loggedIn]),
    ("a LOGIN \"alice\" {6+}\r\nsecret", [privacyLogin, loggedIn, loggedIn]),
    ("a LOGIN alice wrong", [privacyLogin, authFailed, authFailed]),
    ("a LOGIN bob secret", [privacyLogin, authFailed, authFailed]),
    ("a LOGIN busy secret", [privacyLogin, ["a NO [UNAVAILABLE] Authentication temporarily unavailable, try again later"],
                             ["a NO [UNAVAILABLE] Authentication temporarily unavailable, try again later"]]),
    ("a LOGIN \"\" secret", [privacyLogin, authFailed, authFailed]),
    ("a LOGIN alice", Array(repeating: ["a BAD LOGIN expects a user name and a password"], count: 3)),
    ("a LOGIN alice secret extra", Array(repeating: ["a BAD LOGIN expects a user name and a password"], count: 3)),
    ("a LOGIN (alice) secret", Array(repeating: ["a BAD LOGIN expects a user name and a password"], count: 3)),
    ("a AUTHENTICATE PLAIN \(plainAliceSecret)", [privacyAuth, loggedIn, loggedIn]),
    ("a authenticate plain \(plainAliceSecret)", [privacyAuth, loggedIn, loggedIn]),
    ("a AUTHENTICATE PLAIN YWxpY2UAYWxpY2UAc2VjcmV0", [privacyAuth, loggedIn, loggedIn]),
    ("a AUTHENTICATE PLAIN AGFsaWNlAHdyb25n", [privacyAuth, authFailed, authFailed]),
    ("a AUTHENTICATE PLAIN AGFsaWNl", [privacyAuth, authFailed, authFailed]),
    ("a AUTHENTICATE PLAIN =", [privacyAuth, authFailed, authFailed]),
    ("a AUTHENTICATE PLAIN Ym9iAGFsaWNlAHNlY3JldA==", [privacyAuth, ["a NO [AUTHORIZATIONFAILED] Authorization identity not allowed"],
                                                      ["a NO [AUTHORIZATIONFAILED] Authorization identity not allowed"]]),
    ("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA", [privacyAuth, ["a BAD Invalid base64 data"], ["a BAD Invalid base64 data"]]),
    ("a AUTHENTICATE PLAIN !!!!", [privacyAuth, ["a BAD Invalid base64 data"], ["a BAD Invalid base64 data"]]),
    ("a AUTHENTICATE PLAIN", [privacyAuth, ["+ "], ["+ "]]),
    ("a AUTHENTICATE CRAM-MD5", [privacyAuth, ["a NO Unsupported authentication mechanism"], ["a NO Unsupported authentication mechanism"]]),
    ("a AUTHENTICATE XOAUTH2 abcd", [privacyAuth, ["a NO Unsupported authentication mechanism"], ["a NO Unsupported authentication mechanism"]]),
    ("a AUTHENTICATE", Array(repeating: ["a BAD AUTHENTICATE expects a mechanism"], count: 3)),
    ("a AUTHENTICATE \"PLAIN\"", Array(repeating: ["a BAD AUTHENTICATE expects a mechanism"], count: 3)),
    ("a AUTHENTICATE PLAIN \"AGFsaWNlAHNlY3JldA==\"", [["a BAD Invalid initial response"], ["a BAD Invalid initial response"],
                                                       ["a BAD Invalid initial response"]]),
    ("a SELECT INBOX", Array(repeating: ["a BAD Log in first"], count: 3)),
    ("a ENABLE IMAP4rev2", Array(repeating: ["a BAD Log in first"], count: 3)),
    ("a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER])", Array(repeating: ["a BAD Log in first"], count: 3)),
    ("a APPEND INBOX {3}\r\nabc", Array(repeating: ["+ Ready for literal data", "a BAD Log in first"], count: 3)),
    ("a COMPRESS DEFLATE", Array(repeating: ["a BAD Log in first"], count: 3)),
    ("a XYZZY", Array(repeating: ["a BAD Unknown command"], count: 3)),
    ("* NOOP", Array(repeating: ["* BAD Invalid tag"], count: 3)),
    ("+ NOOP", Array(repeating: ["* BAD Invalid tag"], count: 3)),
    ("a", Array(repeating: ["a BAD Missing command"], count: 3)),
    ("a NOOP\u{0}", Array(repeating: ["a BAD Syntax error: invalid character in atom"], count: 3)),
    ("a LOGIN {65537}", Array(repeating: ["a BAD [TOOBIG] Literal too large"], count: 3)),
    ("a LOGIN {4294967295}", Array(repeating: ["a BAD [TOOBIG] Literal too large"], count: 3)),
    ("a LOGIN {4294967295+}", Array(repeating: ["a BAD [TOOBIG] Literal too large", "* BYE Literal too large"], count: 3)),
    ("a LOGIN alice {4097+}\r\n" + String(repeating: "x", count: 4097), Array(repeating: ["a BAD [TOOBIG] Literal too large"], count: 3)),
    ("a LOGIN " + String(repeating: "x", count: 9000), Array(repeating: ["* BYE Command line too long"], count: 3)),
    ("GET / HTTP/1.1", Array(repeating: ["* BYE This is an IMAP server"], count: 3)),
]

let preLoginCases: [CommandCase] = preLoginMatrix.flatMap { row in
    zip(ListenerState.allCases, row.expected).map { CommandCase(state: $0.0, command: row.command, expected: $0.1) }
}

/// The response lines the command produced after the state's prelude.
func responses(to testCase: CommandCase, chunkSize: Int) -> [String] {
    var driver = preLogin(testCase.state.prelude, implicitTLS: testCase.state.implicitTLS)
    let before = driver.lines.count
    driver.run([.client(testCase.command + "\r\n")], chunkSize: chunkSize)
    return Array(driver.lines.dropFirst(before))
}

@Test(arguments: preLoginCases)
func preLoginCommandWhole(_ testCase: CommandCase) {
    #expect(responses(to: testCase, chunkSize: 0) == testCase.expected)
}

@Test(arguments: preLoginCases)
func preLoginCommandByteByByte(_ testCase: CommandCase) {
    #expect(responses(to: testCase, chunkSize: 1) == testCase.expected)
}

@Test(arguments: ListenerState.allCases)
func greetingAdvertisesTheStateCapabilities(_ state: ListenerState) {
    let driver = preLogin([], implicitTLS: state.implicitTLS)
    let caps = state.implicitTLS ? tlsCaps : plainCaps
    #expect(driver.lines == ["* OK [CAPABILITY \(caps)] mailgate ready"])
}
