// The submission session as a pure state machine: bytes and events in, actions out. This file
// holds the state, the input loop (command-line framing, DATA/BDAT routing, input held while an
// event is awaited) and the event entry points; commands live in the +Commands/+Mail/+Auth files.
// Contract: the driver executes actions in order and answers each awaited action with its event.
// Output is the same for any chunking of the input (byte by byte or all at once).

import MailCore

public struct SMTPServerSession: Sendable {
    enum Mode: Equatable {
        case command
        /// Reading a DATA body (the receiver lives in `dataReceiver`).
        case data
        /// Reading `remaining` octets of a BDAT chunk of `size` octets; refused chunks are drained.
        case chunk(remaining: Int, size: Int, last: Bool, accepted: Bool)
        /// Reading one SASL response line.
        case authResponse(SMTPAuthMechanism)
        case awaitingAuthentication(SMTPAuthMechanism)
        case awaitingCommit
        case awaitingTLS
        case closed
    }

    enum Greeting: Equatable {
        case helo(String)
        case ehlo(String)
    }

    struct Transaction {
        /// nil only for the null sender, which only the inbound mode accepts.
        var sender: MailboxAddress?
        var parameters: MailParameters
        var notBefore: Int64?
        var recipients: [SMTPRecipient] = []
        var usedDATA = false
        var usedBDAT = false
        /// BDAT content so far (bounded by the size limit) and its checks.
        var chunks: [UInt8] = []
        var chunkedSize = 0
        var chunkScanner: ChunkContentScanner
    }

    public let policy: SMTPServerPolicy
    public internal(set) var tlsActive: Bool
    /// The SASL-authenticated user, if any.
    public internal(set) var authenticatedUser: SMTPUserIdentity?
    var mode: Mode = .command
    var greeting: Greeting?
    var transaction: Transaction?
    var dataReceiver: DataReceiver?
    var junkCount = 0
    var hadSuccessfulMail = false
    var lineBuffer: [UInt8] = []
    var discardingLongLine = false
    var pendingInput: [UInt8] = []
    var receivedWhileWaiting = 0
    var loggedDiscardAfterSTARTTLS = false

    public init(policy: SMTPServerPolicy) {
        self.policy = policy
        self.tlsActive = policy.implicitTLS
    }

    /// True while the session waits for an event (commit, SASL step, TLS handshake): the driver
    /// should stop reading from the socket; what arrives meanwhile is held (bounded) or discarded.
    public var isAwaitingEvent: Bool {
        switch mode {
        case .awaitingAuthentication, .awaitingCommit, .awaitingTLS: true
        case .command, .data, .chunk, .authResponse, .closed: false
        }
    }

    public var isClosed: Bool { mode == .closed }

    /// True while DATA or BDAT content is being read (a driver may use a longer timeout here).
    public var isReceivingMessage: Bool {
        switch mode {
        case .data, .chunk: true
        case .command, .authResponse, .awaitingAuthentication, .awaitingCommit, .awaitingTLS, .closed: false
        }
    }

    /// The user mail is submitted as: SASL login first, else the trusted network's user.
    public var submittingUser: SMTPUserIdentity? { authenticatedUser ?? policy.trustedUser }

    /// The 220 greeting; call once when the connection (or implicit TLS) is up.
    public func start() -> [SMTPAction] {
        [.send(SMTPReply(220, nil, "\(policy.hostname) ESMTP mailgate").bytes)]
    }

    // MARK: input

    public mutating func receive(_ bytes: some Collection<UInt8>) -> [SMTPAction] {
        var actions: [SMTPAction] = []
        switch mode {
        case .closed:
            return []
        case .awaitingTLS:
            discardAfterSTARTTLS(isEmpty: bytes.isEmpty, into: &actions)
        case .awaitingAuthentication, .awaitingCommit:
            hold(bytes, arrivedWhileWaiting: true, into: &actions)
        case .command, .data, .chunk, .authResponse:
            let input = Array(bytes)
            process(input[...], into: &actions)
        }
        return actions
    }

    mutating func process(_ input: ArraySlice<UInt8>, into actions: inout [SMTPAction]) {
        var index = input.startIndex
        while index < input.endIndex {
            switch mode {
            case .closed:
                return
            case .awaitingTLS:
                discardAfterSTARTTLS(isEmpty: false, into: &actions)
                return
            case .awaitingAuthentication, .awaitingCommit:
                receivedWhileWaiting = 0
                hold(input[index...], arrivedWhileWaiting: false, into: &actions)
                return
            case .data:
                guard var receiver = dataReceiver else { mode = .command; continue }
                dataReceiver = nil  // keep the message buffer uniquely referenced while it grows
                let (consumed, finished) = receiver.consume(input[index...])
                index += consumed
                if finished {
                    mode = .command
                    let problem = receiver.problem
                    finishMessage(receiver.message, problem: problem, chunked: false, into: &actions)
                } else {
                    dataReceiver = receiver
                }
            case .chunk(let remaining, let size, let last, let accepted):
                let take = min(remaining, input.endIndex - index)
                if accepted { appendChunk(input[index..<(index + take)]) }
                index += take
                if take == remaining {
                    mode = .command
                    endChunk(size: size, last: last, accepted: accepted, into: &actions)
                } else {
                    mode = .chunk(remaining: remaining - take, size: size, last: last, accepted: accepted)
                }
            case .command, .authResponse:
                index = frameLine(input, from: index, into: &actions)
            }
        }
    }

    /// Collects one line; command lines end at LF (a preceding CR is dropped). Over-long lines
    /// are discarded as they arrive (never buffered) and answered once their LF shows up.
    private mutating func frameLine(_ input: ArraySlice<UInt8>, from start: Int,
                                    into actions: inout [SMTPAction]) -> Int {
        let newline = input[start...].firstIndex(of: 10)
        let end = newline ?? input.endIndex
        if !discardingLongLine {
            // Never buffer more than the largest limit allows, whatever the chunk holds.
            let room = max(0, max(policy.maxLineLength, policy.maxAuthLineLength) - lineBuffer.count)
            lineBuffer.append(contentsOf: input[start..<min(end, start + room)])
            // With the LF still to come, a line of `limit` bytes already is too long.
            if lineBuffer.count >= lineLimit {
                discardingLongLine = true
                lineBuffer = []
            }
        }
        guard let newline else { return input.endIndex }
        if discardingLongLine {
            discardingLongLine = false
            lineTooLong(into: &actions)
        } else {
            var line = lineBuffer
            lineBuffer = []
            if line.last == 13 { line.removeLast() }
            switch mode {
            case .authResponse(let mechanism):
                handleAuthResponse(line, mechanism: mechanism, into: &actions)
            case .command, .data, .chunk, .awaitingAuthentication, .awaitingCommit, .awaitingTLS, .closed:
                handleCommandLine(line, into: &actions)
            }
        }
        return newline + 1
    }

    /// AUTH command lines and SASL responses may be longer (RFC 4954 §4).
    private var lineLimit: Int {
        if case .authResponse = mode { return policy.maxAuthLineLength }
        let prefix = lineBuffer.prefix(5).map(asciiLowercased)
        if prefix == Array("auth ".utf8) { return policy.maxAuthLineLength }
        return policy.maxLineLength
    }

    private mutating func lineTooLong(into actions: inout [SMTPAction]) {
        if case .authResponse = mode {
            mode = .command
            actions.append(.authenticationCancelled)
            refuse(.authLineTooLong, reason: "SASL response too long", junk: true, into: &actions)
            return
        }
        refuse(.lineTooLong, reason: "command line too long", junk: true, into: &actions)
    }

    /// Keeps input for after the awaited event. The rest of the chunk being processed is always
    /// kept (the driver's read size bounds it); what arrives while waiting is capped.
    private mutating func hold(_ bytes: some Collection<UInt8>, arrivedWhileWaiting: Bool,
                               into actions: inout [SMTPAction]) {
        if arrivedWhileWaiting { receivedWhileWaiting += bytes.count }
        guard receivedWhileWaiting <= policy.maxPendingInput else {
            pendingInput = []
            close(with: .pendingInputOverflow, reason: "too much pipelined input", into: &actions)
            return
        }
        pendingInput.append(contentsOf: bytes)
    }

    private mutating func discardAfterSTARTTLS(isEmpty: Bool, into actions: inout [SMTPAction]) {
        guard !isEmpty, !loggedDiscardAfterSTARTTLS else { return }
        loggedDiscardAfterSTARTTLS = true
        actions.append(.log(.discardedAfterSTARTTLS))
    }

    /// Runs input held during an awaited event once the session is back to reading.
    mutating func resumeHeldInput(into actions: inout [SMTPAction]) {
        guard !pendingInput.isEmpty else { return }
        let held = pendingInput
        pendingInput = []
        process(held[...], into: &actions)
    }

    // MARK: events

    /// The TLS handshake after STARTTLS completed: back to the state before EHLO (RFC 3207 §4.2).
    public mutating func tlsEstablished() -> [SMTPAction] {
        guard mode == .awaitingTLS else { return [] }
        tlsActive = true
        mode = .command
        greeting = nil
        transaction = nil
        authenticatedUser = nil
        lineBuffer = []
        discardingLongLine = false
        pendingInput = []
        return []
    }

    public mutating func timeout(_ kind: SMTPTimeout) -> [SMTPAction] {
        guard mode != .closed else { return [] }
        var actions: [SMTPAction] = []
        if mode == .awaitingTLS {
            // Mid-handshake a plaintext 421 would only corrupt the TLS stream: just close.
            actions = [.log(.closing(reason: "TLS handshake timeout")), .close]
            mode = .closed
            return actions
        }
        switch kind {
        case .idle:
            close(with: .idleTimeout, reason: "idle timeout", into: &actions)
        case .session:
            close(with: SMTPReply(421, "4.4.2", "Error: session time limit exceeded, closing connection"),
                  reason: "session timeout", into: &actions)
        }
        return actions
    }

    public mutating func messageCommitted(queueID: String) -> [SMTPAction] {
        guard mode == .awaitingCommit else { return [] }
        mode = .command
        var actions: [SMTPAction] = [.send(SMTPReply.queued(queueID).bytes)]
        resumeHeldInput(into: &actions)
        return actions
    }

    public mutating func messageCommitFailed(_ reason: String) -> [SMTPAction] {
        guard mode == .awaitingCommit else { return [] }
        mode = .command
        var actions: [SMTPAction] = [.log(.commitFailed(reason: reason)), .send(SMTPReply.commitFailed.bytes)]
        resumeHeldInput(into: &actions)
        return actions
    }

    // MARK: shared helpers

    /// Sends a refusal; `junk` refusals before the first accepted MAIL count toward the limit.
    mutating func refuse(_ reply: SMTPReply, reason: String, junk: Bool, into actions: inout [SMTPAction]) {
        actions.append(.log(.refused(reason: reason, reply: reply)))
        actions.append(.send(reply.bytes))
        guard junk, !hadSuccessfulMail else { return }
        junkCount += 1
        if junkCount > policy.maxJunkCommands {
            close(with: .tooManyErrors, reason: "too many errors", into: &actions)
        }
    }

    mutating func reply(_ reply: SMTPReply, into actions: inout [SMTPAction]) {
        actions.append(.send(reply.bytes))
    }

    mutating func close(with reply: SMTPReply, reason: String, into actions: inout [SMTPAction]) {
        actions.append(.log(.closing(reason: reason)))
        actions.append(.send(reply.bytes))
        actions.append(.close)
        mode = .closed
        transaction = nil
        dataReceiver = nil
        lineBuffer = []
        pendingInput = []
    }
}
