// The mail transaction: MAIL, RCPT, DATA, BDAT and the end-of-message checks that decide between
// `.commit` and a refusal. Order of MAIL checks: sequence, TLS, authentication, syntax, null
// sender, SMTPUTF8, SIZE, send-as, FUTURERELEASE. Null sender <> is refused (553 5.7.1): a
// submitting user always sends as one of its own addresses; bounces never enter by submission.
// Inbound mode: no TLS/AUTH requirement, <> accepted, RCPT only at the policy's domains (550 5.7.1),
// no From: check, and end of data asks for `.deliver` instead of `.commit`.

import MailCore

extension SMTPServerSession {
    mutating func mail(_ arguments: ArraySlice<UInt8>, into actions: inout [SMTPAction]) {
        guard greeting != nil else {
            return refuse(.sendHeloFirst, reason: "MAIL before EHLO", junk: true, into: &actions)
        }
        guard transaction == nil else {
            return refuse(.nestedMail, reason: "nested MAIL", junk: true, into: &actions)
        }
        let inbound = policy.inbound != nil
        if !inbound && policy.tlsAvailable && !tlsActive && policy.trustedUser == nil {
            return refuse(.mustStartTLS, reason: "MAIL without TLS", junk: true, into: &actions)
        }
        let user = submittingUser
        if !inbound && user == nil {
            return refuse(.authRequired, reason: "MAIL without AUTH", junk: true, into: &actions)
        }
        guard let pathStart = argumentAfter(prefix: "FROM:", in: arguments) else {
            return refuse(.mailSyntax, reason: "MAIL syntax", junk: true, into: &actions)
        }
        let parsed: (address: MailboxAddress?, end: Int)
        switch PathParser.parsePath(arguments[pathStart...], allowNull: true, utf8Allowed: true) {
        case .success(let result): parsed = result
        case .failure(.tooLong): return refuse(.addressTooLong, reason: "sender too long", junk: true, into: &actions)
        case .failure(.syntax), .failure(.nonASCIIWithoutSMTPUTF8):
            return refuse(.badSenderSyntax, reason: "sender syntax", junk: true, into: &actions)
        }
        let parameterBytes = arguments[parsed.end...]
        guard parameterBytes.isEmpty || parameterBytes.first == 32 else {
            return refuse(.badSenderSyntax, reason: "sender syntax", junk: true, into: &actions)
        }
        if !saidEHLO && !parameterBytes.allSatisfy({ $0 == 32 }) {
            return refuse(.unsupportedParameter, reason: "MAIL parameters after HELO", junk: true, into: &actions)
        }
        let now = policy.clock()
        let parameters: MailParameters
        switch ESMTPParameters.parseMail(parameterBytes, now: now) {
        case .success(let value): parameters = value
        case .failure(.unsupported):
            return refuse(.unsupportedParameter, reason: "unsupported MAIL parameter", junk: true, into: &actions)
        case .failure(.badValue):
            return refuse(.badParameter, reason: "bad MAIL parameter", junk: true, into: &actions)
        }
        if inbound && (parameters.mtPriority != nil || parameters.holdFor != nil || parameters.holdUntil != nil) {
            return refuse(.unsupportedParameter, reason: "submission-only MAIL parameter inbound", junk: true,
                          into: &actions)
        }
        if let size = parameters.size, size > policy.maxMessageSize {
            return refuse(.messageTooBig, reason: "declared SIZE over limit", junk: true, into: &actions)
        }
        // Inbound: the null sender is how bounces arrive, and anyone may write to us.
        if !inbound || parsed.address != nil {
            guard let sender = parsed.address else {
                return refuse(.nullSenderRefused, reason: "null sender", junk: true, into: &actions)
            }
            if !sender.isASCII && !parameters.smtpUTF8 {
                return refuse(.needsSMTPUTF8, reason: "non-ASCII sender without SMTPUTF8", junk: true, into: &actions)
            }
            if let user, !user.maySend(as: sender) {
                return refuse(.senderNotOwned, reason: "sender \(sender) not allowed for \(user.name)", junk: true,
                              into: &actions)
            }
        }
        var notBefore: Int64?
        if let holdFor = parameters.holdFor {
            guard holdFor <= policy.maxFutureRelease else {
                return refuse(.futureReleaseTooFar, reason: "HOLDFOR too far", junk: true, into: &actions)
            }
            notBefore = now + holdFor
        }
        if let holdUntil = parameters.holdUntil {
            guard holdUntil - now <= policy.maxFutureRelease else {
                return refuse(.futureReleaseTooFar, reason: "HOLDUNTIL too far", junk: true, into: &actions)
            }
            // RFC 4865 §4: a time in the past means release at once.
            notBefore = max(holdUntil, now)
        }
        transaction = Transaction(sender: parsed.address, parameters: parameters, notBefore: notBefore,
                                  chunkScanner: ChunkContentScanner(maxLineLength: policy.maxLineLength))
        hadSuccessfulMail = true
        reply(.senderOk, into: &actions)
    }

    mutating func rcpt(_ arguments: ArraySlice<UInt8>, into actions: inout [SMTPAction]) {
        guard let current = transaction else {
            return refuse(.needMail, reason: "RCPT without MAIL", junk: true, into: &actions)
        }
        guard let pathStart = argumentAfter(prefix: "TO:", in: arguments) else {
            return refuse(.rcptSyntax, reason: "RCPT syntax", junk: true, into: &actions)
        }
        guard current.recipients.count < policy.maxRecipients else {
            return refuse(.tooManyRecipients, reason: "too many recipients", junk: false, into: &actions)
        }
        let parsed: (address: MailboxAddress?, end: Int)
        switch PathParser.parsePath(arguments[pathStart...], allowNull: false, utf8Allowed: true) {
        case .success(let result): parsed = result
        case .failure(.tooLong): return refuse(.addressTooLong, reason: "recipient too long", junk: true, into: &actions)
        case .failure(.syntax), .failure(.nonASCIIWithoutSMTPUTF8):
            return refuse(.badRecipientSyntax, reason: "recipient syntax", junk: true, into: &actions)
        }
        let parameterBytes = arguments[parsed.end...]
        guard let address = parsed.address, parameterBytes.isEmpty || parameterBytes.first == 32 else {
            return refuse(.badRecipientSyntax, reason: "recipient syntax", junk: true, into: &actions)
        }
        if !saidEHLO && !parameterBytes.allSatisfy({ $0 == 32 }) {
            return refuse(.unsupportedParameter, reason: "RCPT parameters after HELO", junk: true, into: &actions)
        }
        let parameters: RecipientParameters
        switch ESMTPParameters.parseRecipient(parameterBytes) {
        case .success(let value): parameters = value
        case .failure(.unsupported):
            return refuse(.unsupportedParameter, reason: "unsupported RCPT parameter", junk: true, into: &actions)
        case .failure(.badValue):
            return refuse(.badParameter, reason: "bad RCPT parameter", junk: true, into: &actions)
        }
        if !address.isASCII && !current.parameters.smtpUTF8 {
            return refuse(.needsSMTPUTF8, reason: "non-ASCII recipient without SMTPUTF8", junk: true, into: &actions)
        }
        if let inbound = policy.inbound, !inbound.accepts(address) {
            // Counted as junk: a client probing for an open relay gets the session closed.
            return refuse(.relayDenied, reason: "recipient \(address) not at an inbound domain", junk: true,
                          into: &actions)
        }
        let duplicate = current.recipients.contains {
            $0.address.localPart == address.localPart && $0.address.domain.lowercased() == address.domain.lowercased()
        }
        if !duplicate {
            transaction?.recipients.append(SMTPRecipient(
                address: address, notify: parameters.notify,
                originalRecipientType: parameters.originalRecipientType,
                originalRecipientAddress: parameters.originalRecipientAddress))
        }
        reply(.recipientOk, into: &actions)
    }

    mutating func data(_ arguments: ArraySlice<UInt8>, into actions: inout [SMTPAction]) {
        guard arguments.isEmpty else {
            return refuse(.noArguments, reason: "DATA with arguments", junk: true, into: &actions)
        }
        guard let current = transaction else {
            return refuse(.needMail, reason: "DATA without MAIL", junk: true, into: &actions)
        }
        guard !current.usedBDAT else {
            return refuse(.mixedDataAndBDAT, reason: "DATA after BDAT", junk: true, into: &actions)
        }
        guard !current.recipients.isEmpty else {
            return refuse(.noValidRecipients, reason: "DATA without recipients", junk: true, into: &actions)
        }
        transaction?.usedDATA = true
        dataReceiver = DataReceiver(maxSize: policy.maxMessageSize, maxLineLength: policy.maxLineLength)
        mode = .data
        reply(.startData, into: &actions)
    }

    /// BDAT size [LAST] (RFC 3030). The chunk octets follow the command whatever the answer, so a
    /// refused chunk is drained before the refusal is sent; only an unreadable size ends the session.
    mutating func bdat(_ arguments: ArraySlice<UInt8>, into actions: inout [SMTPAction]) {
        let words = arguments.split(separator: 32)
        guard (1...2).contains(words.count), words[0].count <= 18,
              let size = ESMTPParameters.decimal(words[0], saturatingAt: Int.max),
              words.count == 1 || ESMTPParameters.ascii(words[1]).uppercased() == "LAST" else {
            close(with: .badBDATSize, reason: "unreadable BDAT size", into: &actions)
            return
        }
        let last = words.count == 2
        let accepted = bdatRefusal() == nil
        if accepted { transaction?.usedBDAT = true }
        mode = .chunk(remaining: size, size: size, last: last, accepted: accepted)
        if size == 0 {
            mode = .command
            endChunk(size: 0, last: last, accepted: accepted, into: &actions)
        }
    }

    private func bdatRefusal() -> (reply: SMTPReply, reason: String)? {
        guard saidEHLO else { return (.sendEhloFirst, "BDAT without EHLO") }
        guard let current = transaction else { return (.needMail, "BDAT without MAIL") }
        guard !current.usedDATA else { return (.mixedDataAndBDAT, "BDAT after DATA") }
        guard !current.recipients.isEmpty else { return (.noValidRecipients, "BDAT without recipients") }
        return nil
    }

    mutating func appendChunk(_ bytes: ArraySlice<UInt8>) {
        guard transaction != nil else { return }
        transaction?.chunkedSize += bytes.count
        transaction?.chunkScanner.scan(bytes)
        if let size = transaction?.chunkedSize, size <= policy.maxMessageSize {
            transaction?.chunks.append(contentsOf: bytes)
        } else if transaction?.chunks.isEmpty == false {
            transaction?.chunks = []
        }
    }

    mutating func endChunk(size: Int, last: Bool, accepted: Bool, into actions: inout [SMTPAction]) {
        guard accepted, var current = transaction else {
            let refusal = bdatRefusal() ?? (.needMail, "BDAT without MAIL")
            return refuse(refusal.reply, reason: refusal.reason, junk: true, into: &actions)
        }
        if current.chunkedSize > policy.maxMessageSize {
            // RFC 3030 §2: the transaction has failed; later BDATs get 503 and are drained.
            transaction = nil
            return refuse(.messageTooBig, reason: "BDAT message over size limit", junk: false, into: &actions)
        }
        guard last else { return reply(.bdatChunkOk(size), into: &actions) }
        current.chunkScanner.finish()
        let problem = MessageProblem.worst(current.chunkScanner.sawBareLineEnd ? .bareLineEnd : nil,
                                           current.chunkScanner.sawLongLine ? .lineTooLong : nil)
        let message = current.chunks
        transaction?.chunks = []
        finishMessage(message, problem: problem, chunked: true, into: &actions)
    }

    /// End of DATA or BDAT LAST: the transaction ends here whatever the outcome.
    mutating func finishMessage(_ message: [UInt8], problem: MessageProblem?, chunked: Bool,
                                into actions: inout [SMTPAction]) {
        guard let current = transaction else {
            return refuse(.needMail, reason: "message without transaction", junk: false, into: &actions)
        }
        transaction = nil
        if let problem {
            return refuse(problem.reply, reason: "message refused: \(problem)", junk: false, into: &actions)
        }
        if policy.inbound != nil {
            let envelope = SMTPInboundEnvelope(
                sender: current.sender, recipients: current.recipients.map(\.address),
                smtpUTF8: current.parameters.smtpUTF8, chunked: chunked, heloName: greetingName,
                extendedHello: saidEHLO, overTLS: tlsActive)
            actions.append(.deliver(envelope, message: message))
            mode = .awaitingCommit
            return
        }
        guard let user = submittingUser, let sender = current.sender else {
            return refuse(.needMail, reason: "message without a submitting user", junk: false, into: &actions)
        }
        switch MessageHeaders.fromAddresses(in: message) {
        case .missing, .multiple, .unparseable:
            return refuse(.noFromHeader, reason: "From: header missing, repeated or unparseable", junk: false,
                          into: &actions)
        case .addresses(let addresses):
            if let foreign = addresses.first(where: { !user.maySend(as: $0) }) {
                return refuse(.fromNotOwned, reason: "From: \(foreign) not allowed for \(user.name)", junk: false,
                              into: &actions)
            }
        }
        let envelope = SMTPEnvelope(
            sender: sender, recipients: current.recipients, declaredSize: current.parameters.size,
            body: current.parameters.body, smtpUTF8: current.parameters.smtpUTF8,
            dsnReturn: current.parameters.dsnReturn, envelopeID: current.parameters.envelopeID,
            mtPriority: current.parameters.mtPriority, notBefore: current.notBefore,
            user: user, authenticated: authenticatedUser != nil, chunked: chunked,
            heloName: greetingName, extendedHello: saidEHLO, overTLS: tlsActive)
        actions.append(.commit(envelope, message: message))
        mode = .awaitingCommit
    }

    var saidEHLO: Bool {
        if case .ehlo = greeting { return true }
        return false
    }

    var greetingName: String {
        switch greeting {
        case .ehlo(let name), .helo(let name): name
        case nil: ""
        }
    }

    /// Index after "FROM:" / "TO:" (case-insensitive) and any blanks; blanks after the colon are
    /// tolerated (common client behaviour, RFC 5321 §4.1.2 does not allow them).
    func argumentAfter(prefix: String, in arguments: ArraySlice<UInt8>) -> Int? {
        let expected = Array(prefix.utf8)
        guard arguments.count >= expected.count,
              zip(arguments.prefix(expected.count), expected).allSatisfy({ asciiLowercased($0) == asciiLowercased($1) })
        else { return nil }
        var index = arguments.startIndex + expected.count
        while index < arguments.endIndex, arguments[index] == 32 { index += 1 }
        return index
    }
}

func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
}
