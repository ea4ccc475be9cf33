// Command dispatch and the session-level commands: EHLO/HELO, STARTTLS, RSET, NOOP, QUIT, VRFY,
// HELP, unknown and forbidden verbs. A line with NUL or a bare CR is refused before parsing.
// Verbs are ASCII case-insensitive; HTTP verbs end the session at once (Postfix does the same).

extension SMTPServerSession {
    enum Verb: String {
        case ehlo = "EHLO", helo = "HELO", starttls = "STARTTLS", auth = "AUTH"
        case mail = "MAIL", rcpt = "RCPT", data = "DATA", bdat = "BDAT"
        case rset = "RSET", noop = "NOOP", quit = "QUIT", vrfy = "VRFY", help = "HELP"
        case expn = "EXPN", etrn = "ETRN", turn = "TURN", atrn = "ATRN", verb = "VERB"
        case send = "SEND", soml = "SOML", saml = "SAML"
        case httpGet = "GET", httpPost = "POST", httpConnect = "CONNECT", httpHead = "HEAD", httpPut = "PUT"
    }

    mutating func handleCommandLine(_ line: [UInt8], into actions: inout [SMTPAction]) {
        if line.contains(0) || line.contains(13) {
            refuse(.nulInCommand, reason: "NUL or bare CR in command", junk: true, into: &actions)
            return
        }
        let space = line.firstIndex(of: 32) ?? line.endIndex
        let verbText = String(decoding: line[..<space], as: UTF8.self).uppercased()
        let arguments = space < line.endIndex ? line[(space + 1)...] : line[line.endIndex...]
        guard let verb = Verb(rawValue: verbText) else {
            refuse(.unknownCommand, reason: "unknown command", junk: true, into: &actions)
            return
        }
        switch verb {
        case .ehlo: hello(arguments, extended: true, into: &actions)
        case .helo: hello(arguments, extended: false, into: &actions)
        case .starttls: startTLS(arguments, into: &actions)
        case .auth: auth(arguments, into: &actions)
        case .mail: mail(arguments, into: &actions)
        case .rcpt: rcpt(arguments, into: &actions)
        case .data: data(arguments, into: &actions)
        case .bdat: bdat(arguments, into: &actions)
        case .rset:
            guard arguments.isEmpty else {
                refuse(.noArguments, reason: "RSET with arguments", junk: true, into: &actions)
                return
            }
            transaction = nil
            reply(.ok, into: &actions)
        case .noop:
            reply(.ok, into: &actions)
        case .quit:
            actions.append(.send(SMTPReply.bye.bytes))
            actions.append(.close)
            mode = .closed
            transaction = nil
        case .vrfy:
            guard !arguments.isEmpty else {
                refuse(.vrfySyntax, reason: "VRFY without argument", junk: true, into: &actions)
                return
            }
            reply(.vrfy, into: &actions)
        case .help:
            reply(.help, into: &actions)
        case .expn, .etrn, .turn, .atrn, .verb, .send, .soml, .saml:
            refuse(.notImplemented, reason: "command not implemented", junk: true, into: &actions)
        case .httpGet, .httpPost, .httpConnect, .httpHead, .httpPut:
            close(with: .forbiddenCommand, reason: "HTTP command on the SMTP port", into: &actions)
        }
    }

    private mutating func hello(_ arguments: ArraySlice<UInt8>, extended: Bool, into actions: inout [SMTPAction]) {
        let name = String(decoding: arguments, as: UTF8.self).trimmingBlanks()
        guard !name.isEmpty, !name.contains(" ") else {
            refuse(.heloSyntax, reason: "HELO/EHLO without a single hostname", junk: true, into: &actions)
            return
        }
        // RFC 5321 §4.1.4: EHLO/HELO mid-session resets the transaction.
        transaction = nil
        greeting = extended ? .ehlo(String(name)) : .helo(String(name))
        guard extended else {
            reply(SMTPReply(250, nil, policy.hostname), into: &actions)
            return
        }
        reply(SMTPReply(code: 250, enhanced: nil, lines: [policy.hostname] + extensions), into: &actions)
    }

    /// The EHLO keywords for the current connection state.
    var extensions: [String] {
        var lines = ["PIPELINING", "SIZE \(policy.maxMessageSize)", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        if policy.tlsAvailable && !tlsActive { lines.append("STARTTLS") }
        // Inbound: no AUTH, and none of the submission-only extensions (DSN, MT-PRIORITY, FUTURERELEASE).
        if policy.inbound != nil { return lines + ["CHUNKING"] }
        if tlsActive && authenticatedUser == nil && !policy.authMechanisms.isEmpty {
            lines.append("AUTH " + policy.authMechanisms.map(\.rawValue).joined(separator: " "))
        }
        lines.append(contentsOf: ["DSN", "CHUNKING", "MT-PRIORITY"])
        let latest = policy.clock() + policy.maxFutureRelease
        lines.append("FUTURERELEASE \(policy.maxFutureRelease) \(RFC3339.format(latest))")
        return lines
    }

    private mutating func startTLS(_ arguments: ArraySlice<UInt8>, into actions: inout [SMTPAction]) {
        guard arguments.isEmpty else {
            refuse(.noArguments, reason: "STARTTLS with arguments", junk: true, into: &actions)
            return
        }
        guard !tlsActive else {
            refuse(.alreadyTLS, reason: "STARTTLS under TLS", junk: true, into: &actions)
            return
        }
        guard policy.tlsAvailable else {
            refuse(.tlsNotAvailable, reason: "STARTTLS without a certificate", junk: true, into: &actions)
            return
        }
        guard greeting != nil else {
            refuse(.sendHeloFirst, reason: "STARTTLS before EHLO", junk: true, into: &actions)
            return
        }
        guard transaction == nil else {
            refuse(.inTransaction, reason: "STARTTLS in a transaction", junk: true, into: &actions)
            return
        }
        reply(.readyForTLS, into: &actions)
        actions.append(.startTLS)
        // Whatever follows on this line's chunk was sent in plaintext before the handshake: the
        // input loop drops it (CVE-2011-0411) because the mode no longer reads commands.
        mode = .awaitingTLS
        loggedDiscardAfterSTARTTLS = false
        lineBuffer = []
    }
}
