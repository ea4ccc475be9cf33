// AUTHENTICATE PLAIN (RFC 4616, with RFC 4959 SASL-IR or a "+ " round), and
// the results of the credential check and the upstream login.
// "*" cancels and broken base64 is refused with BAD (RFC 9051 §6.2.2); wrong
// credentials get NO [AUTHENTICATIONFAILED]; trouble upstream NO [UNAVAILABLE].

import MailCore
extension IMAPPreLoginSession {
    mutating func authenticate(_ command: IMAPCommand, into actions: inout [IMAPPreLoginAction]) {
        guard (1...2).contains(command.arguments.count), case .atom(let mechanismBytes) = command.arguments[0] else {
            return bad(command.tag, "AUTHENTICATE expects a mechanism", into: &actions)
        }
        var initialResponse: [UInt8]?
        if command.arguments.count == 2 {
            guard case .atom(let response) = command.arguments[1] else {
                return bad(command.tag, "Invalid initial response", into: &actions)
            }
            initialResponse = response
        }
        guard tlsActive else {
            return refuse(IMAPWriter.status(command.tag, "NO", code: "PRIVACYREQUIRED", "Run STARTTLS before AUTHENTICATE"),
                          reason: "AUTHENTICATE without TLS", into: &actions)
        }
        guard IMAPGrammar.equalsIgnoringCase(mechanismBytes, "PLAIN") else {
            return refuse(IMAPWriter.status(command.tag, "NO", "Unsupported authentication mechanism"),
                          reason: "unsupported SASL mechanism", into: &actions)
        }
        guard let initialResponse else {
            actions.append(.send(IMAPWriter.continuation("")))
            mode = .authenticateResponse(tag: command.tag)
            return
        }
        // SASL-IR: "=" stands for an empty initial response.
        let decoded = initialResponse == [UInt8(ascii: "=")] ? [] : Base64.decode(initialResponse)
        guard let decoded else { return bad(command.tag, "Invalid base64 data", into: &actions) }
        plain(decoded, tag: command.tag, into: &actions)
    }

    mutating func handlePlainResponse(_ line: [UInt8], tag: String, into actions: inout [IMAPPreLoginAction]) {
        if line == [UInt8(ascii: "*")] {
            return bad(tag, "Authentication cancelled", into: &actions)
        }
        guard let decoded = Base64.decode(line) else { return bad(tag, "Invalid base64 data", into: &actions) }
        plain(decoded, tag: tag, into: &actions)
    }

    /// message = [authzid] NUL authcid NUL passwd. An authzid other than the
    /// authcid would mean acting as another user: refused.
    private mutating func plain(_ message: [UInt8], tag: String, into actions: inout [IMAPPreLoginAction]) {
        let parts = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty else {
            return loginFailed(user: "", mechanism: .authenticatePlain, tag: tag, into: &actions)
        }
        guard parts[0].isEmpty || parts[0].elementsEqual(parts[1]) else {
            return refuse(IMAPWriter.status(tag, "NO", code: "AUTHORIZATIONFAILED", "Authorization identity not allowed"),
                          reason: "PLAIN authzid differs from authcid", into: &actions)
        }
        verify(user: Array(parts[1]), password: Array(parts[2]), mechanism: .authenticatePlain, tag: tag, into: &actions)
    }

    mutating func loginFailed(user: String, mechanism: IMAPLoginMechanism, tag: String,
                              into actions: inout [IMAPPreLoginAction]) {
        actions.append(.log(.loginFailed(user: user, mechanism: mechanism)))
        actions.append(.send(IMAPWriter.status(tag, "NO", code: "AUTHENTICATIONFAILED", "Authentication failed")))
        failedLogins += 1
        if failedLogins > policy.maxFailedLogins {
            close(reason: "too many failed logins", bye: "Too many failed logins", into: &actions)
        }
    }

    /// The driver's answer to `.verifyCredentials`.
    public mutating func credentialsVerified(_ result: IMAPCredentialCheck) -> [IMAPPreLoginAction] {
        guard case .awaitingCredentials(let tag, let user, let mechanism) = mode else { return [] }
        var actions: [IMAPPreLoginAction] = []
        switch result {
        case .accepted(let user):
            actions.append(.connectUpstream(user: user))
            mode = .awaitingUpstream(tag: tag, user: user, mechanism: mechanism)
            return actions
        case .rejected:
            mode = .commands
            loginFailed(user: user, mechanism: mechanism, tag: tag, into: &actions)
        case .temporaryFailure:
            mode = .commands
            actions.append(.send(IMAPWriter.status(tag, "NO", code: "UNAVAILABLE",
                                                   "Authentication temporarily unavailable, try again later")))
        }
        resume(into: &actions)
        return actions
    }

    /// The driver's answer to `.connectUpstream`. On success the client gets
    /// the upstream's capabilities (filtered) and the session hands over.
    public mutating func upstreamLoginFinished(_ outcome: IMAPUpstreamLoginOutcome) -> [IMAPPreLoginAction] {
        guard case .awaitingUpstream(let tag, let user, let mechanism) = mode else { return [] }
        var actions: [IMAPPreLoginAction] = []
        switch outcome {
        case .loggedIn(let upstreamCapabilities):
            let visible = IMAPCapabilities.clientVisible(upstreamCapabilities)
            let code = visible.isEmpty ? nil : "CAPABILITY " + visible.joined(separator: " ")
            // The answer first: the client waits for it, the audit line does not.
            actions.append(.send(IMAPWriter.status(tag, "OK", code: code, "Logged in")))
            actions.append(.log(.loginSucceeded(user: user, mechanism: mechanism)))
            actions.append(.startRelay(pendingClientBytes: framer.takeRemainingBytes()))
            loggedInUser = user
            mode = .relaying
        case .failed(let failure):
            actions.append(.log(.upstreamLoginFailed(user: user, failure)))
            actions.append(.send(IMAPWriter.status(tag, "NO", code: "UNAVAILABLE",
                                                   "Mail server unavailable, try again later")))
            mode = .commands
            resume(into: &actions)
        }
        return actions
    }
}
