// Session set-up: greeting, EHLO (HELO fallback only for plain sessions without credentials),
// STARTTLS when the account requires it (never downgraded, plaintext after the 220 refused),
// EHLO again under TLS, then AUTH: none without credentials, else PLAIN, LOGIN or XOAUTH2 chosen
// from what the server offers. Any 2xx ends AUTH (smtp-sink answers 250, RFC 4954 says 235).

extension SMTPClientSession {
    mutating func handleGreeting(_ reply: SMTPReply, into actions: inout [SMTPClientAction]) {
        guard reply.code == 220 else {
            let kind: SMTPSessionFailureKind = reply.code >= 400 ? .greetingRefused : .protocolError
            fail(kind, reply: reply, detail: "greeting refused: \(reply.description)", into: &actions)
            return
        }
        sendHello("EHLO", into: &actions)
        state = .ehlo
    }

    mutating func handleEHLO(_ reply: SMTPReply, into actions: inout [SMTPClientAction]) {
        if reply.isPositive {
            capabilities = SMTPServerCapabilities(ehlo: reply)
            afterHello(into: &actions)
            return
        }
        if reply.isPermanentFailure, canFallBackToHELO {
            sendHello("HELO", into: &actions)
            state = .helo
            return
        }
        let kind: SMTPSessionFailureKind = reply.code >= 400 ? .greetingRefused : .protocolError
        fail(kind, reply: reply, detail: "EHLO refused: \(reply.description)", into: &actions)
    }

    mutating func handleHELO(_ reply: SMTPReply, into actions: inout [SMTPClientAction]) {
        guard reply.isPositive else {
            let kind: SMTPSessionFailureKind = reply.code >= 400 ? .greetingRefused : .protocolError
            fail(kind, reply: reply, detail: "HELO refused: \(reply.description)", into: &actions)
            return
        }
        capabilities = SMTPServerCapabilities()
        afterHello(into: &actions)
    }

    /// HELO offers no STARTTLS and no AUTH, so it only serves plain sessions without credentials.
    private var canFallBackToHELO: Bool {
        configuration.security == .none && configuration.credentials == .none
    }

    private mutating func sendHello(_ verb: String, into actions: inout [SMTPClientAction]) {
        actions.append(.send(SMTPClientEncoding.line("\(verb) \(SMTPClientEncoding.heloName(configuration.heloName))")))
    }

    private mutating func afterHello(into actions: inout [SMTPClientAction]) {
        if configuration.security == .startTLS && !tlsActive {
            guard capabilities?.startTLS == true else {
                fail(.tlsUnavailable, reply: nil, detail: "STARTTLS required but not offered by the upstream",
                     into: &actions)
                return
            }
            actions.append(.send(SMTPClientEncoding.line("STARTTLS")))
            state = .startTLS
            return
        }
        startAuthentication(into: &actions)
    }

    mutating func handleSTARTTLS(_ reply: SMTPReply, into actions: inout [SMTPClientAction]) {
        guard reply.code == 220 else {
            let kind: SMTPSessionFailureKind = reply.code >= 400 ? .tlsUnavailable : .protocolError
            fail(kind, reply: reply, detail: "STARTTLS refused: \(reply.description)", into: &actions)
            return
        }
        // Anything after the 220 arrived in plaintext and would be read as if it came over TLS
        // (the client side of CVE-2011-0411): refuse it.
        guard !reader.hasBufferedInput else {
            fail(.protocolError, reply: nil, detail: "plaintext received after the STARTTLS 220", into: &actions)
            return
        }
        reader = SMTPReplyReader(maxLineLength: configuration.maxReplyLineLength,
                                 maxLines: configuration.maxReplyLines)
        capabilities = nil
        state = .tlsHandshake(afterSTARTTLS: true)
        actions.append(.startTLS)
    }

    private mutating func startAuthentication(into actions: inout [SMTPClientAction]) {
        let offered = capabilities?.authMechanisms ?? []
        switch configuration.credentials {
        case .none:
            becomeReady(into: &actions)
        case .password(let user, let password):
            if offered.contains("PLAIN") {
                let response = SMTPClientEncoding.plainResponse(user: user, password: password)
                actions.append(.send(SMTPClientEncoding.line("AUTH PLAIN \(response)")))
                state = .auth(.plain(resent: false))
            } else if offered.contains("LOGIN") {
                actions.append(.send(SMTPClientEncoding.line("AUTH LOGIN")))
                state = .auth(.loginUser)
            } else {
                failNoMechanism("PLAIN or LOGIN", offered: offered, into: &actions)
            }
        case .xoauth2(let user, let token):
            guard offered.contains("XOAUTH2") else {
                failNoMechanism("XOAUTH2", offered: offered, into: &actions)
                return
            }
            let response = SMTPClientEncoding.xoauth2Response(user: user, token: token)
            actions.append(.send(SMTPClientEncoding.line("AUTH XOAUTH2 \(response)")))
            state = .auth(.xoauth2)
        }
    }

    private mutating func failNoMechanism(_ wanted: String, offered: Set<String>,
                                          into actions: inout [SMTPClientAction]) {
        let list = offered.isEmpty ? "none" : offered.sorted().joined(separator: " ")
        fail(.authenticationUnavailable, reply: nil,
             detail: "credentials configured but the upstream offers no \(wanted) (AUTH offered: \(list))",
             into: &actions)
    }

    mutating func handleAuth(_ reply: SMTPReply, step: AuthStep, into actions: inout [SMTPClientAction]) {
        if reply.isPositive {
            becomeReady(into: &actions)
            return
        }
        if reply.code >= 400 {
            fail(.authenticationFailed, reply: reply, detail: "AUTH refused: \(reply.description)", into: &actions)
            return
        }
        guard reply.code == 334 else {
            fail(.protocolError, reply: reply, detail: "unexpected AUTH reply: \(reply.description)", into: &actions)
            return
        }
        switch (step, configuration.credentials) {
        case (.plain(resent: false), .password(let user, let password)):
            // The server ignored the initial response and asks for it (RFC 4954 §4 allows both).
            actions.append(.send(SMTPClientEncoding.line(SMTPClientEncoding.plainResponse(user: user, password: password))))
            state = .auth(.plain(resent: true))
        case (.loginUser, .password(let user, _)):
            actions.append(.send(SMTPClientEncoding.line(SMTPClientEncoding.base64(Array(user.utf8)))))
            state = .auth(.loginPassword)
        case (.loginPassword, .password(_, let password)):
            actions.append(.send(SMTPClientEncoding.line(SMTPClientEncoding.base64(Array(password.utf8)))))
            state = .auth(.loginSent)
        case (.xoauth2, .xoauth2):
            // XOAUTH2 reports a refused token as a 334 with a JSON error; an empty line ends it
            // and the server then sends the final (failure) reply.
            actions.append(.send(SMTPClientEncoding.line("")))
            state = .auth(.xoauth2Error)
        case (.plain, _), (.loginUser, _), (.loginPassword, _), (.loginSent, _), (.xoauth2, _), (.xoauth2Error, _):
            fail(.authenticationFailed, reply: reply, detail: "unexpected AUTH challenge: \(reply.description)",
                 into: &actions)
        }
    }
}
