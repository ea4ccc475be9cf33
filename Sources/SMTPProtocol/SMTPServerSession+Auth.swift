// AUTH framing (RFC 4954): parses `AUTH mechanism [initial-response]`, decodes base64, hands the
// SASL steps to the driver (which runs Cyrus SASL) and turns its results into 334/235/535/454.
// AUTH is accepted only under TLS, after EHLO, outside a transaction and once per session.
// A "*" line cancels (501 5.7.0); undecodable base64 ends the exchange with 501 5.5.2.

import MailCore
extension SMTPServerSession {
    mutating func auth(_ arguments: ArraySlice<UInt8>, into actions: inout [SMTPAction]) {
        guard policy.inbound == nil else {
            return refuse(.authNotOffered, reason: "AUTH on the inbound listener", junk: true, into: &actions)
        }
        guard case .ehlo = greeting else {
            let reply: SMTPReply = greeting == nil ? .sendHeloFirst : .sendEhloFirst
            return refuse(reply, reason: "AUTH without EHLO", junk: true, into: &actions)
        }
        guard authenticatedUser == nil else {
            return refuse(.alreadyAuthenticated, reason: "second AUTH", junk: true, into: &actions)
        }
        guard transaction == nil else {
            return refuse(.inTransaction, reason: "AUTH in a transaction", junk: true, into: &actions)
        }
        let words = arguments.split(separator: 32)
        guard (1...2).contains(words.count) else {
            return refuse(.authSyntax, reason: "AUTH syntax", junk: true, into: &actions)
        }
        guard tlsActive else {
            return refuse(.authNeedsTLS, reason: "AUTH without TLS", junk: true, into: &actions)
        }
        guard let mechanism = SMTPAuthMechanism(rawValue: ESMTPParameters.ascii(words[0]).uppercased()),
              policy.authMechanisms.contains(mechanism) else {
            return refuse(.authUnknownMechanism, reason: "unknown AUTH mechanism", junk: true, into: &actions)
        }
        var initialResponse: [UInt8]?
        if words.count == 2 {
            if words[1].elementsEqual([UInt8(ascii: "=")]) {
                initialResponse = []
            } else if let decoded = Base64.decode(words[1]) {
                initialResponse = decoded
            } else {
                return refuse(.authBadBase64, reason: "AUTH initial response not base64", junk: true, into: &actions)
            }
        }
        actions.append(.authenticate(mechanism: mechanism, initialResponse: initialResponse))
        mode = .awaitingAuthentication(mechanism)
    }

    mutating func handleAuthResponse(_ line: [UInt8], mechanism: SMTPAuthMechanism,
                                     into actions: inout [SMTPAction]) {
        mode = .command
        if line == [UInt8(ascii: "*")] {
            actions.append(.authenticationCancelled)
            return refuse(.authCancelled, reason: "AUTH cancelled by client", junk: true, into: &actions)
        }
        guard let decoded = Base64.decode(line) else {
            actions.append(.authenticationCancelled)
            return refuse(.authBadBase64, reason: "SASL response not base64", junk: true, into: &actions)
        }
        actions.append(.authenticationResponse(decoded))
        mode = .awaitingAuthentication(mechanism)
    }

    /// The driver's answer to `.authenticate` or `.authenticationResponse`.
    public mutating func authenticationFinished(_ result: SMTPAuthenticationResult) -> [SMTPAction] {
        guard case .awaitingAuthentication(let mechanism) = mode else { return [] }
        mode = .command
        var actions: [SMTPAction] = []
        switch result {
        case .success(let user):
            authenticatedUser = user
            actions.append(.log(.authenticated(user: user.name, mechanism: mechanism)))
            reply(.authSucceeded, into: &actions)
        case .failure:
            actions.append(.log(.authenticationFailed(mechanism: mechanism)))
            refuse(.authFailed, reason: "authentication failed", junk: true, into: &actions)
        case .temporaryFailure:
            refuse(.authTemporaryFailure, reason: "authentication temporarily unavailable", junk: false,
                   into: &actions)
        case .challenge(let challenge):
            reply(.authChallenge(challenge), into: &actions)
            mode = .authResponse(mechanism)
        }
        resumeHeldInput(into: &actions)
        return actions
    }
}
