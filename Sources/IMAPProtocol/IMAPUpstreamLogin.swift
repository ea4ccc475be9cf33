// mailgate's login to an upstream IMAP server as a pure state machine:
// greeting -> [STARTTLS -> TLS] -> [CAPABILITY] -> (ready) -> [ID x-originating-ip]
// pipelined with AUTHENTICATE PLAIN/XOAUTH2 (SASL-IR if offered) or LOGIN ->
// [CAPABILITY]. Made without an account, it stops when ready and waits for
// logIn(as:) (a pre-connected connection). Contract: feed server bytes with
// receive(); run the actions in order. Untagged responses in between are
// tolerated; bytes after the STARTTLS OK are refused.

import MailCore
public struct IMAPUpstreamLogin: Sendable {
    enum Step: Hashable, Sendable {
        case greeting
        case capability(tag: String)
        case startTLS(tag: String)
        case awaitingTLS
        /// Capabilities known, no account yet: waiting for logIn(as:).
        case ready
        /// LOGIN sent up to a synchronising literal; `remaining` pieces each
        /// wait for a "+" continuation.
        case login(tag: String, remaining: [[UInt8]])
        /// AUTHENTICATE sent; `response` is still to send at the first "+".
        case authenticate(tag: String, response: [UInt8]?)
        case postLoginCapability(tag: String)
        case finished
    }

    public static let defaultMaxResponseLength = 65536

    public let security: IMAPUpstreamLoginConfiguration.Security
    private let maxResponseLength: Int
    /// Who logs in; nil until logIn(as:) for a machine made without one.
    private var account: IMAPUpstreamAccount?
    /// The server's capabilities as last announced.
    public private(set) var capabilities: [String]?
    private var step: Step = .greeting
    private var reader: IMAPResponseReader
    private var tagCounter = 0
    private var tlsDone: Bool
    /// The ID command sent ahead of the login, until its tagged answer (which changes nothing).
    private var identifyTag: String?
    /// An untagged CAPABILITY arrived after the login command was sent.
    private var capabilitiesSinceLogin = false

    /// Connects and logs in at once.
    public init(configuration: IMAPUpstreamLoginConfiguration) {
        self.init(security: configuration.security, maxResponseLength: configuration.maxResponseLength)
        account = configuration.account
    }

    /// Connects only: stops with `.ready` and waits for `logIn(as:)`.
    public init(security: IMAPUpstreamLoginConfiguration.Security,
                maxResponseLength: Int = IMAPUpstreamLogin.defaultMaxResponseLength) {
        self.security = security
        self.maxResponseLength = maxResponseLength
        self.reader = IMAPResponseReader(maxResponseLength: maxResponseLength)
        self.tlsDone = security == .implicitTLS
    }

    public var isFinished: Bool { step == .finished }
    public var isReady: Bool { step == .ready }

    /// Logs in on a ready connection; anywhere else it does nothing.
    public mutating func logIn(as account: IMAPUpstreamAccount) -> [IMAPUpstreamLoginAction] {
        guard step == .ready, let capabilities else { return [] }
        self.account = account
        return logIn(account, capabilities)
    }

    // MARK: events

    public mutating func receive(_ bytes: some Collection<UInt8>) -> [IMAPUpstreamLoginAction] {
        switch step {
        case .finished:
            return []
        case .awaitingTLS:
            if bytes.isEmpty { return [] }
            return finish(.failed(.protocolError("bytes after the STARTTLS response")))
        case .greeting, .capability, .startTLS, .ready, .login, .authenticate, .postLoginCapability:
            break
        }
        reader.append(bytes)
        var actions: [IMAPUpstreamLoginAction] = []
        while step != .finished && step != .awaitingTLS {
            switch reader.next() {
            case .needMoreBytes:
                return actions
            case .failure(let reason):
                actions += finish(.failed(.protocolError(reason)))
            case .response(let response):
                actions += handle(response)
            }
        }
        return actions
    }

    public mutating func tlsEstablished() -> [IMAPUpstreamLoginAction] {
        guard step == .awaitingTLS else { return [] }
        tlsDone = true
        // RFC 9051 §6.2.1: forget what was learnt before TLS and ask again.
        capabilities = nil
        reader = IMAPResponseReader(maxResponseLength: maxResponseLength)
        return proceed()
    }

    /// The upstream closed the connection (or the handshake failed).
    public mutating func connectionClosed() -> [IMAPUpstreamLoginAction] {
        guard step != .finished else { return [] }
        return finish(.failed(.unavailable("connection closed")))
    }

    public mutating func timeout() -> [IMAPUpstreamLoginAction] {
        guard step != .finished else { return [] }
        return finish(.failed(.unavailable("timeout")))
    }

    // MARK: responses

    private mutating func handle(_ response: IMAPServerResponse) -> [IMAPUpstreamLoginAction] {
        switch response.kind {
        case .untagged:
            if response.status == .bye { return finish(.failed(.unavailable("BYE " + response.text))) }
            if let list = response.capabilities {
                capabilities = list
                if case .login = step { capabilitiesSinceLogin = true }
                if case .authenticate = step { capabilitiesSinceLogin = true }
            }
            return step == .greeting ? greeting(response) : []
        case .continuation:
            return continuation()
        case .tagged(let tag) where tag == identifyTag:
            identifyTag = nil
            return []  // a refused ID changes nothing: the login goes on
        case .tagged(let tag):
            guard tag == currentTag, let status = response.status else {
                return finish(.failed(.protocolError("unexpected tagged response")))
            }
            return tagged(status, response)
        }
    }

    private mutating func greeting(_ response: IMAPServerResponse) -> [IMAPUpstreamLoginAction] {
        switch response.status {
        case .ok:
            return proceed()
        case .preauth:
            return finish(.failed(.protocolError("server greeted with PREAUTH")))
        case .bye, .no, .bad, nil:
            return finish(.failed(.protocolError("unexpected greeting")))
        }
    }

    private mutating func continuation() -> [IMAPUpstreamLoginAction] {
        switch step {
        case .login(let tag, var remaining) where !remaining.isEmpty:
            let piece = remaining.removeFirst()
            step = .login(tag: tag, remaining: remaining)
            return [.send(piece)]
        case .authenticate(let tag, let pending):
            step = .authenticate(tag: tag, response: nil)
            // A challenge after our response is an error report (XOAUTH2 sends
            // JSON): answer with an empty line to get the tagged NO.
            return [.send((pending ?? []) + [0x0D, 0x0A])]
        case .greeting, .capability, .startTLS, .awaitingTLS, .ready, .login, .postLoginCapability, .finished:
            return finish(.failed(.protocolError("unexpected continuation request")))
        }
    }

    /// The tag of the command in flight, if any.
    private var currentTag: String? {
        switch step {
        case .capability(let tag), .startTLS(let tag), .login(let tag, _), .authenticate(let tag, _),
             .postLoginCapability(let tag):
            return tag
        case .greeting, .awaitingTLS, .ready, .finished:
            return nil
        }
    }

    private mutating func tagged(_ status: IMAPResponseStatus, _ response: IMAPServerResponse) -> [IMAPUpstreamLoginAction] {
        switch step {
        case .capability:
            guard status == .ok, capabilities != nil else {
                return finish(.failed(.protocolError("CAPABILITY failed: " + response.text)))
            }
            return proceed()
        case .startTLS:
            guard status == .ok else { return finish(.failed(.protocolError("STARTTLS refused: " + response.text))) }
            // Bytes after the OK were sent in plaintext: accepting them would let
            // a man in the middle inject responses (CVE-2011-0411, client side).
            guard reader.bufferedByteCount == 0 else {
                return finish(.failed(.protocolError("bytes after the STARTTLS response")))
            }
            step = .awaitingTLS
            return [.startTLS]
        case .login, .authenticate:
            return loginResult(status, response)
        case .postLoginCapability:
            guard status == .ok, let capabilities else {
                return finish(.failed(.protocolError("CAPABILITY after login failed: " + response.text)))
            }
            return finish(.loggedIn(capabilities: capabilities, pendingServerBytes: reader.takeRemainingBytes()))
        case .greeting, .awaitingTLS, .ready, .finished:
            return finish(.failed(.protocolError("unexpected tagged response")))
        }
    }

    private mutating func loginResult(_ status: IMAPResponseStatus, _ response: IMAPServerResponse) -> [IMAPUpstreamLoginAction] {
        switch status {
        case .ok:
            if let list = response.capabilities { capabilities = list }
            // A CAPABILITY learnt before the login does not describe the
            // logged-in session: only the OK's code or a fresh list counts.
            if response.capabilities != nil || capabilitiesSinceLogin {
                return finish(.loggedIn(capabilities: capabilities ?? [], pendingServerBytes: reader.takeRemainingBytes()))
            }
            let tag = nextTag()
            step = .postLoginCapability(tag: tag)
            return [.send(Array((tag + " CAPABILITY\r\n").utf8))]
        case .no:
            switch response.codeName {
            case "UNAVAILABLE", "SERVERBUG", "INUSE", "LIMIT", "OVERQUOTA":
                return finish(.failed(.unavailable(response.text)))
            default:
                return finish(.failed(.authenticationRejected(response.text)))
            }
        case .bad, .bye, .preauth:
            return finish(.failed(.protocolError("login answered " + status.rawValue + ": " + response.text)))
        }
    }

    // MARK: commands

    /// Sends the next command the login still needs.
    private mutating func proceed() -> [IMAPUpstreamLoginAction] {
        if security == .startTLS && !tlsDone {
            guard let capabilities else { return askCapabilities() }
            guard IMAPCapabilities.contains(capabilities, "STARTTLS") else {
                return finish(.failed(.protocolError("server does not offer STARTTLS")))
            }
            let tag = nextTag()
            step = .startTLS(tag: tag)
            return [.send(Array((tag + " STARTTLS\r\n").utf8))]
        }
        guard let capabilities else { return askCapabilities() }
        guard let account else {
            step = .ready
            return [.ready(capabilities: capabilities)]
        }
        return logIn(account, capabilities)
    }

    /// The login command, with ID ahead of it when there is a client to name:
    /// pipelined (RFC 9051 §5.5), since its answer changes nothing, which
    /// saves a round trip to the server.
    private mutating func logIn(_ account: IMAPUpstreamAccount, _ capabilities: [String]) -> [IMAPUpstreamLoginAction] {
        guard let address = account.clientAddress, IMAPCapabilities.contains(capabilities, "ID") else {
            return logInCommand(account, capabilities)
        }
        var fields = "\"name\" \"mailgate\" \"x-originating-ip\" " + IMAPWriter.quotedText(address)
        if let port = account.clientPort { fields += " \"x-originating-port\" \"\(port)\"" }
        let tag = nextTag()
        identifyTag = tag
        let identify = Array((tag + " ID (" + fields + ")\r\n").utf8)
        let actions = logInCommand(account, capabilities)
        guard case .send(let command)? = actions.first, actions.count == 1 else { return actions }
        return [.send(identify + command)]
    }

    private mutating func askCapabilities() -> [IMAPUpstreamLoginAction] {
        let tag = nextTag()
        step = .capability(tag: tag)
        return [.send(Array((tag + " CAPABILITY\r\n").utf8))]
    }

    private mutating func logInCommand(_ account: IMAPUpstreamAccount, _ capabilities: [String]) -> [IMAPUpstreamLoginAction] {
        let saslIR = IMAPCapabilities.contains(capabilities, "SASL-IR")
        let user = Array(account.username.utf8)
        capabilitiesSinceLogin = false
        switch account.credential {
        case .oauth2Token(let token):
            guard IMAPCapabilities.contains(capabilities, "AUTH=XOAUTH2") else {
                return finish(.failed(.protocolError("server does not offer AUTH=XOAUTH2")))
            }
            let message = Array("user=".utf8) + user + Array("\u{1}auth=Bearer ".utf8) + Array(token.utf8) + [1, 1]
            return authenticate("XOAUTH2", Base64.encode(message), saslIR: saslIR)
        case .password(let password):
            if IMAPCapabilities.contains(capabilities, "AUTH=PLAIN") {
                return authenticate("PLAIN", Base64.encode([0] + user + [0] + Array(password.utf8)), saslIR: saslIR)
            }
            guard !IMAPCapabilities.contains(capabilities, "LOGINDISABLED") else {
                return finish(.failed(.protocolError("server disables LOGIN and offers no AUTH=PLAIN")))
            }
            return login(user, Array(password.utf8), capabilities)
        }
    }

    private mutating func authenticate(_ mechanism: String, _ response: [UInt8], saslIR: Bool) -> [IMAPUpstreamLoginAction] {
        let tag = nextTag()
        var line = Array((tag + " AUTHENTICATE " + mechanism).utf8)
        if saslIR {
            line += [0x20] + response
            step = .authenticate(tag: tag, response: nil)
        } else {
            step = .authenticate(tag: tag, response: response)
        }
        return [.send(line + [0x0D, 0x0A])]
    }

    /// LOGIN with each argument quoted when it can be, else a literal: {n+}
    /// under LITERAL+ (or LITERAL- up to 4096 bytes), else {n} and a wait for "+".
    private mutating func login(_ user: [UInt8], _ password: [UInt8], _ capabilities: [String]) -> [IMAPUpstreamLoginAction] {
        let literalPlus = IMAPCapabilities.contains(capabilities, "LITERAL+")
        let literalMinus = IMAPCapabilities.contains(capabilities, "LITERAL-")
        let tag = nextTag()
        var pieces: [[UInt8]] = [Array((tag + " LOGIN").utf8)]
        for argument in [user, password] {
            pieces[pieces.count - 1] += [0x20]
            if let quoted = IMAPWriter.quoted(argument) {
                pieces[pieces.count - 1] += quoted
            } else if literalPlus || literalMinus && argument.count <= 4096 {
                pieces[pieces.count - 1] += Array("{\(argument.count)+}\r\n".utf8) + argument
            } else {
                pieces[pieces.count - 1] += Array("{\(argument.count)}\r\n".utf8)
                pieces.append(argument)
            }
        }
        pieces[pieces.count - 1] += [0x0D, 0x0A]
        let first = pieces.removeFirst()
        step = .login(tag: tag, remaining: pieces)
        return [.send(first)]
    }

    // MARK: helpers

    private mutating func nextTag() -> String {
        tagCounter += 1
        return "M\(tagCounter)"
    }

    private mutating func finish(_ action: IMAPUpstreamLoginAction) -> [IMAPUpstreamLoginAction] {
        step = .finished
        return [action]
    }
}
