// The commands mailgate answers itself before login (CAPABILITY, NOOP,
// LOGOUT, STARTTLS, ID, LOGIN) and the refusal of everything else.
// Commands valid only after login get "BAD Log in first"; unknown ones
// "BAD Unknown command"; both count towards the bad-command limit.

extension IMAPPreLoginSession {
    /// Commands of the authenticated and selected states (RFC 9051, RFC 3501
    /// and common extensions): refused with a hint to log in first.
    static let postLoginCommands: Set<String> = [
        "ENABLE", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST",
        "LSUB", "NAMESPACE", "STATUS", "APPEND", "IDLE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH",
        "FETCH", "STORE", "COPY", "MOVE", "UID", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "GETACL", "SETACL",
        "DELETEACL", "LISTRIGHTS", "MYRIGHTS", "GETMETADATA", "SETMETADATA", "SORT", "THREAD", "ESEARCH",
        "NOTIFY", "COMPRESS", "UNAUTHENTICATE", "XLIST", "REPLACE",
    ]

    static let httpMethods: Set<String> = ["GET", "POST", "HEAD", "PUT", "OPTIONS", "CONNECT"]

    mutating func handle(_ command: IMAPCommand, into actions: inout [IMAPPreLoginAction]) {
        switch command.name {
        case "CAPABILITY":
            guard command.arguments.isEmpty else { return bad(command.tag, "CAPABILITY takes no arguments", into: &actions) }
            actions.append(.send(IMAPWriter.untagged("CAPABILITY " + capabilities.joined(separator: " "))))
            actions.append(.send(IMAPWriter.status(command.tag, "OK", "CAPABILITY completed")))
        case "NOOP":
            guard command.arguments.isEmpty else { return bad(command.tag, "NOOP takes no arguments", into: &actions) }
            actions.append(.send(IMAPWriter.status(command.tag, "OK", "NOOP completed")))
        case "LOGOUT":
            guard command.arguments.isEmpty else { return bad(command.tag, "LOGOUT takes no arguments", into: &actions) }
            actions.append(.send(IMAPWriter.status(nil, "BYE", "Logging out")))
            actions.append(.send(IMAPWriter.status(command.tag, "OK", "LOGOUT completed")))
            actions.append(.log(.closing(reason: "LOGOUT")))
            actions.append(.close)
            mode = .closed
        case "STARTTLS":
            startTLS(command, into: &actions)
        case "ID":
            identify(command, into: &actions)
        case "LOGIN":
            login(command, into: &actions)
        case "AUTHENTICATE":
            authenticate(command, into: &actions)
        default:
            if Self.httpMethods.contains(command.tag), command.arguments.last?.astringText?.hasPrefix("HTTP/") == true {
                return close(reason: "HTTP request", bye: "This is an IMAP server", into: &actions)
            }
            let text = Self.postLoginCommands.contains(command.name) ? "Log in first" : "Unknown command"
            bad(command.tag, text, into: &actions)
        }
    }

    private mutating func startTLS(_ command: IMAPCommand, into actions: inout [IMAPPreLoginAction]) {
        guard command.arguments.isEmpty else { return bad(command.tag, "STARTTLS takes no arguments", into: &actions) }
        guard !tlsActive else { return bad(command.tag, "TLS is already active", into: &actions) }
        actions.append(.send(IMAPWriter.status(command.tag, "OK", "Begin TLS negotiation now")))
        actions.append(.startTLS)
        // Anything pipelined behind STARTTLS was sent in plaintext and must not
        // run as if it came over TLS (CVE-2011-0411).
        noteDiscardedAfterSTARTTLS(isEmpty: framer.takeRemainingBytes().isEmpty, into: &actions)
        mode = .awaitingTLS
    }

    /// RFC 2971: `ID NIL` or `ID (field value ...)`, at most 30 pairs, fields
    /// of at most 30 bytes, values of at most 1024.
    private mutating func identify(_ command: IMAPCommand, into actions: inout [IMAPPreLoginAction]) {
        guard command.arguments.count == 1 else { return bad(command.tag, "ID takes one argument", into: &actions) }
        var parameters: [IMAPIDParameter] = []
        switch command.arguments[0] {
        case .nilValue:
            break
        case .list(let items):
            guard items.count % 2 == 0, items.count <= 60 else {
                return bad(command.tag, "Invalid ID parameter list", into: &actions)
            }
            var index = 0
            while index < items.count {
                guard let name = Self.idString(items[index]), name.utf8.count <= 30 else {
                    return bad(command.tag, "Invalid ID field", into: &actions)
                }
                let value: String?
                switch items[index + 1] {
                case .nilValue:
                    value = nil
                case .quoted, .literal:
                    guard let text = Self.idString(items[index + 1]), text.utf8.count <= 1024 else {
                        return bad(command.tag, "Invalid ID value", into: &actions)
                    }
                    value = text
                case .atom, .list:
                    return bad(command.tag, "Invalid ID value", into: &actions)
                }
                parameters.append(IMAPIDParameter(name: name, value: value))
                index += 2
            }
        case .atom, .quoted, .literal:
            return bad(command.tag, "Invalid ID parameter list", into: &actions)
        }
        clientID = parameters
        actions.append(.log(.clientID(parameters)))
        actions.append(.send(IMAPWriter.untagged("ID (\"name\" " + IMAPWriter.quotedText(policy.serverName) + ")")))
        actions.append(.send(IMAPWriter.status(command.tag, "OK", "ID completed")))
    }

    /// An ID field or value: a string (quoted or literal), UTF-8.
    private static func idString(_ token: IMAPToken) -> String? {
        switch token {
        case .quoted, .literal: return token.astringText
        case .atom, .nilValue, .list: return nil
        }
    }

    private mutating func login(_ command: IMAPCommand, into actions: inout [IMAPPreLoginAction]) {
        guard command.arguments.count == 2,
              let user = command.arguments[0].astringBytes, let password = command.arguments[1].astringBytes else {
            return bad(command.tag, "LOGIN expects a user name and a password", into: &actions)
        }
        guard tlsActive else {
            return refuse(IMAPWriter.status(command.tag, "NO", code: "PRIVACYREQUIRED", "Run STARTTLS before LOGIN"),
                          reason: "LOGIN without TLS", into: &actions)
        }
        verify(user: user, password: password, mechanism: .login, tag: command.tag, into: &actions)
    }

    /// Hands credentials to the driver; user names and passwords that are not
    /// UTF-8 or hold NUL can match no gateway user and fail at once.
    mutating func verify(user: [UInt8], password: [UInt8], mechanism: IMAPLoginMechanism, tag: String,
                         into actions: inout [IMAPPreLoginAction]) {
        guard !user.isEmpty, !user.contains(0), !password.contains(0),
              let userText = String(validatingUTF8Bytes: user), let passwordText = String(validatingUTF8Bytes: password) else {
            return loginFailed(user: String(decoding: user, as: UTF8.self), mechanism: mechanism, tag: tag, into: &actions)
        }
        actions.append(.verifyCredentials(IMAPLoginRequest(user: userText, password: passwordText, mechanism: mechanism)))
        mode = .awaitingCredentials(tag: tag, user: userText, mechanism: mechanism)
    }
}
