// IMAPUpstreamLogin against scripted server transcripts (Dovecot-like and
// Gmail-like greetings, with and without ID, LOGINDISABLED before STARTTLS,
// refusals, injection after STARTTLS), and connections made ready before the
// account logs in on them. Each runs whole and byte by byte.
import Testing
@testable import IMAPProtocol

enum WireStep: Sendable {
    /// Bytes from the upstream server.
    case server(String)
    /// Bytes mailgate must have sent by now, in order.
    case client(String)
    /// The machine asked for TLS; the handshake succeeds.
    case tls
    case closed
    case timeout
    /// The account of the transcript's configuration logs in on the ready connection.
    case logIn
}

struct UpstreamTranscript: CustomTestStringConvertible, Sendable {
    let name: String
    let configuration: IMAPUpstreamLoginConfiguration
    let steps: [WireStep]
    let outcome: IMAPUpstreamLoginAction
    var relayed: String = ""
    /// The machine is made without an account and must say `.ready` with these capabilities.
    var ready: String?
    var testDescription: String { name }
}

struct UpstreamRun {
    var problems: [String] = []
    var outcome: IMAPUpstreamLoginAction?
    var relayed: [UInt8] = []
    var ready: [String]?
}

/// Plays a transcript; bytes arriving after the outcome count as relayed, as the service relays them.
func play(_ transcript: UpstreamTranscript, chunkSize: Int) -> UpstreamRun {
    var machine = transcript.ready == nil
        ? IMAPUpstreamLogin(configuration: transcript.configuration)
        : IMAPUpstreamLogin(security: transcript.configuration.security)
    var run = UpstreamRun()
    var sent: [UInt8] = []
    var tlsRequested = false
    func take(_ actions: [IMAPUpstreamLoginAction]) {
        for action in actions {
            switch action {
            case .send(let data): sent += data
            case .startTLS: tlsRequested = true
            case .ready(let capabilities):
                if run.ready != nil { run.problems.append("ready twice") }
                run.ready = capabilities
            case .loggedIn(let capabilities, let pending):
                // Pending bytes depend on chunking; they are compared through `relayed`.
                run.outcome = .loggedIn(capabilities: capabilities, pendingServerBytes: [])
                run.relayed += pending
            case .failed:
                run.outcome = action
            }
        }
    }
    for step in transcript.steps {
        switch step {
        case .server(let text):
            let data = bytes(text)
            let size = chunkSize <= 0 ? max(1, data.count) : chunkSize
            var index = 0
            while index < data.count {
                let end = min(data.count, index + size)
                if machine.isFinished {
                    // After a failure the service closes the connection and drops the rest.
                    if case .loggedIn = run.outcome { run.relayed += data[index..<end] }
                } else {
                    take(machine.receive(data[index..<end]))
                }
                index = end
            }
        case .client(let text):
            let expected = bytes(text)
            if sent.starts(with: expected) {
                sent.removeFirst(expected.count)
            } else {
                run.problems.append("expected \(text.debugDescription), got \(String(decoding: sent, as: UTF8.self).debugDescription)")
                sent = []
            }
        case .tls:
            if !tlsRequested { run.problems.append("TLS not requested") }
            tlsRequested = false
            take(machine.tlsEstablished())
        case .closed:
            take(machine.connectionClosed())
        case .timeout:
            take(machine.timeout())
        case .logIn:
            if !machine.isReady { run.problems.append("not ready for the login") }
            take(machine.logIn(as: transcript.configuration.account))
        }
    }
    if !sent.isEmpty { run.problems.append("unexpected output \(String(decoding: sent, as: UTF8.self).debugDescription)") }
    return run
}

let salesPassword = IMAPUpstreamLoginConfiguration(security: .implicitTLS, username: "sales@example.test",
                                                   credential: .password("upstream-pass"),
                                                   clientAddress: "203.0.113.5", clientPort: 51234)
let plainSales = "AHNhbGVzQGV4YW1wbGUudGVzdAB1cHN0cmVhbS1wYXNz"  // base64("\0sales@example.test\0upstream-pass")
let salesID = "(\"name\" \"mailgate\" \"x-originating-ip\" \"203.0.113.5\" \"x-originating-port\" \"51234\")"
let dovecotGreeting = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready.\r\n"
let dovecotLoggedIn = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT LITERAL+ MOVE"
let dovecotLoggedInList = dovecotLoggedIn.split(separator: " ").map(String.init)

let gmailToken = IMAPUpstreamLoginConfiguration(security: .implicitTLS, username: "sales@gmail.test",
                                                credential: .oauth2Token("ya29.token"), clientAddress: "198.51.100.7")
let gmailXOAUTH2 = "dXNlcj1zYWxlc0BnbWFpbC50ZXN0AWF1dGg9QmVhcmVyIHlhMjkudG9rZW4BAQ=="
let gmailPreLogin = "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH\r\n"
let gmailPostLogin = "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584"
let gmailOpening: [WireStep] = [
    .server("* OK Gimap ready for requests from 192.0.2.1 a1b2c3\r\n"),
    .client("M1 CAPABILITY\r\n"),
    .server(gmailPreLogin + "M1 OK Thats all she wrote! a1b2c3\r\n"),
    .client("M2 ID (\"name\" \"mailgate\" \"x-originating-ip\" \"198.51.100.7\")\r\n"),
    .server("* ID (\"name\" \"GImap\" \"vendor\" \"Google, Inc.\" \"support-url\" NIL)\r\nM2 OK Success a1b2c3\r\n"),
    .client("M3 AUTHENTICATE XOAUTH2 \(gmailXOAUTH2)\r\n"),
]

func configuration(_ security: IMAPUpstreamLoginConfiguration.Security, password: String = "upstream-pass",
                   address: String? = "203.0.113.5") -> IMAPUpstreamLoginConfiguration {
    IMAPUpstreamLoginConfiguration(security: security, username: "sales@example.test", credential: .password(password),
                                   clientAddress: address, clientPort: address == nil ? nil : 51234)
}

func loggedIn(_ list: String) -> IMAPUpstreamLoginAction {
    .loggedIn(capabilities: list.split(separator: " ").map(String.init), pendingServerBytes: [])
}

let upstreamTranscripts: [UpstreamTranscript] = [
    UpstreamTranscript(name: "Dovecot imaps with ID and SASL-IR", configuration: salesPassword, steps: [
        .server(dovecotGreeting),
        .client("M1 ID \(salesID)\r\n"),
        .server("* ID (\"name\" \"Dovecot\")\r\nM1 OK ID completed (0.001 + 0.000 secs).\r\n"),
        .client("M2 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("M2 OK [CAPABILITY \(dovecotLoggedIn)] Logged in\r\n"),
    ], outcome: loggedIn(dovecotLoggedIn)),
    UpstreamTranscript(name: "Dovecot STARTTLS with LOGINDISABLED before TLS", configuration: configuration(.startTLS), steps: [
        .server("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] Dovecot ready.\r\n"),
        .client("M1 STARTTLS\r\n"),
        .server("M1 OK Begin TLS negotiation now.\r\n"),
        .tls,
        .client("M2 CAPABILITY\r\n"),
        .server("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN\r\nM2 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"),
        .client("M3 ID \(salesID)\r\n"),
        .server("* ID NIL\r\nM3 OK ID completed.\r\n"),
        .client("M4 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("M4 OK [CAPABILITY \(dovecotLoggedIn)] Logged in\r\n"),
    ], outcome: loggedIn(dovecotLoggedIn)),
    UpstreamTranscript(name: "STARTTLS greeting without capabilities", configuration: configuration(.startTLS, address: nil), steps: [
        .server("* OK ready\r\n"),
        .client("M1 CAPABILITY\r\n"),
        .server("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nM1 OK done\r\n"),
        .client("M2 STARTTLS\r\n"),
        .server("M2 OK go\r\n"),
        .tls,
        .client("M3 CAPABILITY\r\n"),
        .server("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nM3 OK done\r\n"),
        .client("M4 AUTHENTICATE PLAIN\r\n"),
        .server("+ \r\n"),
        .client("\(plainSales)\r\n"),
        .server("* CAPABILITY IMAP4rev1 IDLE\r\nM4 OK Logged in\r\n"),
    ], outcome: loggedIn("IMAP4rev1 IDLE")),
    UpstreamTranscript(name: "Gmail XOAUTH2 with ID", configuration: gmailToken, steps: gmailOpening + [
        .server("* CAPABILITY \(gmailPostLogin)\r\nM3 OK sales@gmail.test authenticated (Success)\r\n"),
    ], outcome: loggedIn(gmailPostLogin)),
    UpstreamTranscript(name: "Gmail XOAUTH2 token refused", configuration: gmailToken, steps: gmailOpening + [
        .server("+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n"),
        .client("\r\n"),
        .server("M3 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n"),
    ], outcome: .failed(.authenticationRejected("Invalid credentials (Failure)"))),
    UpstreamTranscript(name: "no ID, LOGIN quoted, CAPABILITY asked after login", configuration: configuration(.none, password: "pa\"ss"), steps: [
        .server("* OK IMAP server ready\r\n"),
        .client("M1 CAPABILITY\r\n"),
        .server("* CAPABILITY IMAP4rev1 IDLE\r\nM1 OK done\r\n"),
        .client("M2 LOGIN \"sales@example.test\" \"pa\\\"ss\"\r\n"),
        .server("M2 OK Logged in\r\n"),
        .client("M3 CAPABILITY\r\n"),
        .server("* CAPABILITY IMAP4rev1 IDLE NAMESPACE\r\nM3 OK done\r\n"),
    ], outcome: loggedIn("IMAP4rev1 IDLE NAMESPACE")),
    UpstreamTranscript(name: "LOGIN with a synchronising literal", configuration: configuration(.implicitTLS, password: "pässword"), steps: [
        .server("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
        .client("M1 LOGIN \"sales@example.test\" {9}\r\n"),
        .server("+ go ahead\r\n"),
        .client("pässword\r\n"),
        .server("M1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
    ], outcome: loggedIn("IMAP4rev1 IDLE")),
    UpstreamTranscript(name: "LOGIN with LITERAL+", configuration: configuration(.implicitTLS, password: "pässword"), steps: [
        .server("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n"),
        .client("M1 LOGIN \"sales@example.test\" {9+}\r\npässword\r\n"),
        .server("M1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
    ], outcome: loggedIn("IMAP4rev1 IDLE")),
    UpstreamTranscript(name: "Dovecot NO [AUTHENTICATIONFAILED]", configuration: salesPassword, steps: [
        .server(dovecotGreeting),
        .client("M1 ID \(salesID)\r\n"),
        .server("M1 OK ID completed.\r\n"),
        .client("M2 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("M2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
    ], outcome: .failed(.authenticationRejected("Authentication failed."))),
    UpstreamTranscript(name: "NO [UNAVAILABLE] is not a credential problem", configuration: configuration(.implicitTLS, address: nil), steps: [
        .server(dovecotGreeting),
        .client("M1 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("M1 NO [UNAVAILABLE] Internal error occurred.\r\n"),
    ], outcome: .failed(.unavailable("Internal error occurred."))),
    UpstreamTranscript(name: "refused ID does not stop the login", configuration: salesPassword, steps: [
        .server(dovecotGreeting),
        .client("M1 ID \(salesID)\r\n"),
        .server("M1 BAD Error in IMAP command ID\r\n"),
        .client("M2 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("M2 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
    ], outcome: loggedIn("IMAP4rev1")),
    UpstreamTranscript(name: "STARTTLS required but not offered", configuration: configuration(.startTLS), steps: [
        .server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
    ], outcome: .failed(.protocolError("server does not offer STARTTLS"))),
    UpstreamTranscript(name: "response injected after the STARTTLS OK", configuration: configuration(.startTLS), steps: [
        .server("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"),
        .client("M1 STARTTLS\r\n"),
        .server("M1 OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"),
    ], outcome: .failed(.protocolError("bytes after the STARTTLS response"))),
    UpstreamTranscript(name: "STARTTLS refused", configuration: configuration(.startTLS), steps: [
        .server("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
        .client("M1 STARTTLS\r\n"),
        .server("M1 NO TLS unavailable\r\n"),
    ], outcome: .failed(.protocolError("STARTTLS refused: TLS unavailable"))),
    UpstreamTranscript(name: "LOGINDISABLED without AUTH=PLAIN", configuration: configuration(.implicitTLS, address: nil), steps: [
        .server("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=GSSAPI] ready\r\n"),
    ], outcome: .failed(.protocolError("server disables LOGIN and offers no AUTH=PLAIN"))),
    UpstreamTranscript(name: "XOAUTH2 not offered", configuration: gmailToken, steps: [
        .server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
    ], outcome: .failed(.protocolError("server does not offer AUTH=XOAUTH2"))),
    UpstreamTranscript(name: "BYE greeting", configuration: salesPassword, steps: [
        .server("* BYE Too many connections\r\n"),
    ], outcome: .failed(.unavailable("BYE Too many connections"))),
    UpstreamTranscript(name: "PREAUTH greeting", configuration: salesPassword, steps: [
        .server("* PREAUTH [CAPABILITY IMAP4rev1] logged in as somebody\r\n"),
    ], outcome: .failed(.protocolError("server greeted with PREAUTH"))),
    UpstreamTranscript(name: "not an IMAP server", configuration: salesPassword, steps: [
        .server("HTTP/1.1 400 Bad Request\r\n"),
    ], outcome: .failed(.protocolError("not an IMAP response"))),
    UpstreamTranscript(name: "connection closed while waiting", configuration: configuration(.none), steps: [
        .server("* OK ready\r\n"),
        .client("M1 CAPABILITY\r\n"),
        .closed,
    ], outcome: .failed(.unavailable("connection closed"))),
    UpstreamTranscript(name: "timeout", configuration: configuration(.none), steps: [
        .server("* OK ready\r\n"),
        .client("M1 CAPABILITY\r\n"),
        .timeout,
    ], outcome: .failed(.unavailable("timeout"))),
    UpstreamTranscript(name: "BYE while logging in", configuration: configuration(.implicitTLS, address: nil), steps: [
        .server(dovecotGreeting),
        .client("M1 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("* BYE Server shutting down.\r\n"),
    ], outcome: .failed(.unavailable("BYE Server shutting down."))),
    UpstreamTranscript(name: "wrong tag", configuration: configuration(.implicitTLS, address: nil), steps: [
        .server(dovecotGreeting),
        .client("M1 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("X9 OK Logged in\r\n"),
    ], outcome: .failed(.protocolError("unexpected tagged response"))),
    UpstreamTranscript(name: "BAD to the login", configuration: configuration(.implicitTLS, address: nil), steps: [
        .server(dovecotGreeting),
        .client("M1 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("M1 BAD Invalid base64\r\n"),
    ], outcome: .failed(.protocolError("login answered BAD: Invalid base64"))),
    UpstreamTranscript(name: "untagged responses interleaved", configuration: salesPassword, steps: [
        .server("* OK [CAPABILITY IMAP4rev1 ID AUTH=PLAIN] ready\r\n"),
        .client("M1 ID \(salesID)\r\n"),
        .server("* ID (\"name\" {7}\r\nDovecot \"os\" {5+}\r\nLinux)\r\n* OK [ALERT] Maintenance tonight\r\nM1 OK ID completed\r\n"),
        .client("M2 AUTHENTICATE PLAIN\r\n"),
        .server("* OK [ALERT] Password expires in 3 days\r\n+ \r\n"),
        .client("\(plainSales)\r\n"),
        .server("* 1 EXISTS\r\n* OK still here\r\nM2 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
    ], outcome: loggedIn("IMAP4rev1 IDLE")),
    UpstreamTranscript(name: "bytes after the login belong to the client", configuration: configuration(.implicitTLS, address: nil), steps: [
        .server(dovecotGreeting),
        .client("M1 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("M1 OK [CAPABILITY IMAP4rev1] Logged in\r\n* 3 EXISTS\r\n"),
    ], outcome: loggedIn("IMAP4rev1"), relayed: "* 3 EXISTS\r\n"),
    UpstreamTranscript(name: "continuation where none is expected", configuration: configuration(.none), steps: [
        .server("* OK ready\r\n"),
        .client("M1 CAPABILITY\r\n"),
        .server("+ what\r\n"),
    ], outcome: .failed(.protocolError("unexpected continuation request"))),
]

/// Connections made ready first (greeting, TLS, capabilities), logged in later.
let preConnectedTranscripts: [UpstreamTranscript] = [
    UpstreamTranscript(name: "Dovecot imaps ready, then ID and AUTHENTICATE in one write", configuration: salesPassword, steps: [
        .server(dovecotGreeting),
        .logIn,
        .client("M1 ID \(salesID)\r\nM2 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("* ID (\"name\" \"Dovecot\")\r\nM1 OK ID completed.\r\nM2 OK [CAPABILITY \(dovecotLoggedIn)] Logged in\r\n"),
    ], outcome: loggedIn(dovecotLoggedIn),
       ready: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN"),
    UpstreamTranscript(name: "STARTTLS ready after the post-TLS CAPABILITY", configuration: configuration(.startTLS), steps: [
        .server("* OK [CAPABILITY IMAP4rev1 ID STARTTLS LOGINDISABLED] ready\r\n"),
        .client("M1 STARTTLS\r\n"),
        .server("M1 OK go\r\n"),
        .tls,
        .client("M2 CAPABILITY\r\n"),
        .server("* CAPABILITY IMAP4rev1 ID AUTH=PLAIN\r\nM2 OK done\r\n"),
        .logIn,
        .client("M3 ID \(salesID)\r\nM4 AUTHENTICATE PLAIN\r\n"),
        .server("M3 OK ID completed.\r\n+ \r\n"),
        .client("\(plainSales)\r\n"),
        .server("M4 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
    ], outcome: loggedIn("IMAP4rev1 IDLE"), ready: "IMAP4rev1 ID AUTH=PLAIN"),
    UpstreamTranscript(name: "an alert while ready changes nothing", configuration: configuration(.implicitTLS, address: nil), steps: [
        .server(dovecotGreeting),
        .server("* OK [ALERT] Maintenance tonight\r\n"),
        .logIn,
        .client("M1 AUTHENTICATE PLAIN \(plainSales)\r\n"),
        .server("M1 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
    ], outcome: loggedIn("IMAP4rev1"), ready: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN"),
    UpstreamTranscript(name: "BYE while ready (the server's pre-login timeout)", configuration: salesPassword, steps: [
        .server(dovecotGreeting),
        .server("* BYE Disconnected for inactivity.\r\n"),
    ], outcome: .failed(.unavailable("BYE Disconnected for inactivity.")),
       ready: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN"),
    UpstreamTranscript(name: "closed while ready", configuration: salesPassword, steps: [
        .server(dovecotGreeting),
        .closed,
    ], outcome: .failed(.unavailable("connection closed")),
       ready: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN"),
    UpstreamTranscript(name: "a tagged response while ready", configuration: salesPassword, steps: [
        .server(dovecotGreeting),
        .server("M1 OK nothing was asked\r\n"),
    ], outcome: .failed(.protocolError("unexpected tagged response")),
       ready: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN"),
]

@Test(arguments: upstreamTranscripts + preConnectedTranscripts, [0, 1, 5])
func upstreamLogin(_ transcript: UpstreamTranscript, chunkSize: Int) {
    let run = play(transcript, chunkSize: chunkSize)
    #expect(run.problems == [])
    #expect(run.outcome == transcript.outcome)
    #expect(run.relayed == bytes(transcript.relayed))
    #expect(run.ready == transcript.ready.map { $0.split(separator: " ").map(String.init) })
}

@Test func theIDIsPipelinedWithTheLogin() {
    var machine = IMAPUpstreamLogin(configuration: salesPassword)
    let actions = machine.receive(bytes(dovecotGreeting))
    #expect(actions == [.send(bytes("M1 ID \(salesID)\r\nM2 AUTHENTICATE PLAIN \(plainSales)\r\n"))])
}

@Test func aLoginBeforeTheConnectionIsReadyDoesNothing() {
    var machine = IMAPUpstreamLogin(security: .implicitTLS)
    #expect(machine.logIn(as: salesPassword.account) == [])
    #expect(machine.receive(bytes(dovecotGreeting)).count == 1)
    #expect(machine.isReady)
}

@Test func credentialsStayOutOfDescriptions() {
    #expect(!"\(salesPassword)".contains("upstream-pass"))
    #expect(!"\(gmailToken)".contains("ya29"))
}

@Test func dovecotCapabilitiesAfterLoginAreFilteredForTheClient() {
    #expect(IMAPCapabilities.clientVisible(dovecotLoggedInList) == ["IMAP4rev1", "ID", "ENABLE", "IDLE", "SORT", "LITERAL+", "MOVE"])
}
