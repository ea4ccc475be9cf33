// The upstream SMTP client as a pure state machine: events in (connected, bytes, TLS up/failed,
// timeout, connection closed, and the relay's send/quit), actions out. No sockets, no timers:
// `currentWait` names the step being waited on and its timeout, for the service to arm a timer.
// This file holds state, the input loop and the event entry points; the greeting/EHLO/STARTTLS/
// AUTH phase lives in +Handshake, MAIL/RCPT/DATA in +Transaction, failure reporting in +Failure.
// Output is the same for any chunking of the input.

import MailCore

/// The step being waited on and how long to wait for it.
public struct SMTPClientWait: Sendable, Hashable {
    public var step: SMTPClientStep
    public var timeout: Duration
}

public struct SMTPClientSession: Sendable {
    enum AuthStep: Equatable {
        case plain(resent: Bool)
        case loginUser
        case loginPassword
        case loginSent
        case xoauth2
        case xoauth2Error
    }

    enum State: Equatable {
        case connecting
        case tlsHandshake(afterSTARTTLS: Bool)
        case greeting
        case ehlo
        case helo
        case startTLS
        case auth(AuthStep)
        case ready
        case transaction
        case reset
        case quit
        case closed
    }

    public let configuration: SMTPClientConfiguration
    /// From the last EHLO (cleared by STARTTLS, RFC 3207 §4.2); empty after a HELO fallback.
    public internal(set) var capabilities: SMTPServerCapabilities?
    public internal(set) var tlsActive = false
    /// Messages handed over by `send(_:)` so far.
    public internal(set) var messageCount = 0
    var state: State = .connecting
    var reader: SMTPReplyReader
    var transaction: ClientTransaction?

    public init(configuration: SMTPClientConfiguration) {
        self.configuration = configuration
        reader = SMTPReplyReader(maxLineLength: configuration.maxReplyLineLength,
                                 maxLines: configuration.maxReplyLines)
    }

    public var isReady: Bool { state == .ready }
    public var isClosed: Bool { state == .closed }

    /// What the session waits for now; nil when idle (ready) or closed. Re-arm after every call.
    public var currentWait: SMTPClientWait? {
        currentStep.map { SMTPClientWait(step: $0, timeout: configuration.timeouts.duration(for: $0)) }
    }

    var currentStep: SMTPClientStep? {
        switch state {
        case .connecting: .connect
        case .tlsHandshake: .tlsHandshake
        case .greeting: .greeting
        case .ehlo, .helo: .ehlo
        case .startTLS: .startTLS
        case .auth: .auth
        case .ready, .closed: nil
        case .transaction: transaction?.expected.first?.step ?? .mail
        case .reset: .reset
        case .quit: .quit
        }
    }

    // MARK: connection events

    /// The TCP connection is up. With implicit TLS the session asks for the handshake first.
    public mutating func connected() -> [SMTPClientAction] {
        guard state == .connecting else { return [] }
        switch configuration.security {
        case .implicitTLS:
            state = .tlsHandshake(afterSTARTTLS: false)
            return [.startTLS]
        case .startTLS, .none:
            state = .greeting
            return []
        }
    }

    public mutating func tlsEstablished() -> [SMTPClientAction] {
        guard case .tlsHandshake(let afterSTARTTLS) = state else { return [] }
        tlsActive = true
        guard afterSTARTTLS else {
            state = .greeting
            return []
        }
        state = .ehlo
        return [.send(SMTPClientEncoding.line("EHLO \(SMTPClientEncoding.heloName(configuration.heloName))"))]
    }

    public mutating func tlsFailed(_ detail: String) -> [SMTPClientAction] {
        var actions: [SMTPClientAction] = []
        fail(.tlsFailed, reply: nil, detail: "TLS handshake failed: \(detail)", into: &actions)
        return actions
    }

    /// The timer armed from `currentWait` fired.
    public mutating func timeout() -> [SMTPClientAction] {
        var actions: [SMTPClientAction] = []
        switch state {
        case .closed, .ready:
            return []
        case .quit:
            close(into: &actions)
        case .connecting, .tlsHandshake, .greeting, .ehlo, .helo, .startTLS, .auth, .transaction, .reset:
            let step = currentStep ?? .connect
            fail(.timeout(step), reply: nil, detail: "timed out waiting for \(Self.name(of: step))", into: &actions)
        }
        return actions
    }

    /// The upstream closed the connection (EOF), or connecting failed.
    public mutating func connectionClosed() -> [SMTPClientAction] {
        connectionFailed("connection closed by upstream")
    }

    /// Connect, read or write failed (or EOF); `detail` goes into logs and local replies.
    public mutating func connectionFailed(_ detail: String) -> [SMTPClientAction] {
        var actions: [SMTPClientAction] = []
        switch state {
        case .closed:
            return []
        case .ready, .quit:
            // An idle session closed by the server (its idle timeout) or our QUIT answered by EOF.
            close(into: &actions)
        case .connecting, .tlsHandshake, .greeting, .ehlo, .helo, .startTLS, .auth, .transaction, .reset:
            let step = currentStep ?? .connect
            var text = "\(detail) while waiting for \(Self.name(of: step))"
            if step == .dataTermination { text += " (the message may have been delivered)" }
            fail(.connectionLost, reply: nil, detail: text, into: &actions)
        }
        return actions
    }

    // MARK: input

    public mutating func receive(_ bytes: some Collection<UInt8>) -> [SMTPClientAction] {
        var actions: [SMTPClientAction] = []
        switch state {
        case .closed:
            return []
        case .connecting, .tlsHandshake:
            fail(.protocolError, reply: nil, detail: "data received before the session could read it", into: &actions)
            return actions
        case .greeting, .ehlo, .helo, .startTLS, .auth, .ready, .transaction, .reset, .quit:
            break
        }
        reader.append(bytes)
        while !isClosed, let next = reader.next() {
            switch next {
            case .success(let reply):
                handle(reply, into: &actions)
            case .failure(let error):
                if state == .quit { close(into: &actions); break }
                fail(.protocolError, reply: nil, detail: "bad reply: \(error)", into: &actions)
            }
            if case .tlsHandshake = state { break }
        }
        return actions
    }

    mutating func handle(_ reply: SMTPReply, into actions: inout [SMTPClientAction]) {
        if reply.code == 421 && state != .quit {
            fail(.serviceClosing, reply: reply, detail: "upstream closing: \(reply.description)", into: &actions)
            return
        }
        switch state {
        case .greeting: handleGreeting(reply, into: &actions)
        case .ehlo: handleEHLO(reply, into: &actions)
        case .helo: handleHELO(reply, into: &actions)
        case .startTLS: handleSTARTTLS(reply, into: &actions)
        case .auth(let step): handleAuth(reply, step: step, into: &actions)
        case .transaction: handleTransactionReply(reply, into: &actions)
        case .reset:
            if reply.isPositive {
                becomeReady(into: &actions)
            } else {
                fail(.protocolError, reply: reply, detail: "RSET refused: \(reply.description)", into: &actions)
            }
        case .quit:
            close(into: &actions)
        case .ready:
            fail(.protocolError, reply: reply, detail: "unexpected reply while idle: \(reply.description)", into: &actions)
        case .connecting, .tlsHandshake, .closed:
            break
        }
    }

    // MARK: commands from the relay

    /// Ends the session politely when idle; mid-session it closes at once (an unfinished message
    /// is reported as a temporary failure).
    public mutating func quit() -> [SMTPClientAction] {
        var actions: [SMTPClientAction] = []
        switch state {
        case .closed, .quit:
            return []
        case .ready:
            state = .quit
            actions.append(.send(SMTPClientEncoding.line("QUIT")))
        case .connecting, .tlsHandshake, .greeting, .ehlo, .helo, .startTLS, .auth, .transaction, .reset:
            reportUnfinishedMessage(reply: SMTPReply(451, "4.3.0", "session ended by the relay"), fromUpstream: false,
                                    classification: .accountProblem(.unreachable),
                                    into: &actions)
            close(into: &actions)
        }
        return actions
    }

    mutating func becomeReady(into actions: inout [SMTPClientAction]) {
        state = .ready
        actions.append(.ready)
    }

    mutating func close(into actions: inout [SMTPClientAction]) {
        state = .closed
        transaction = nil
        actions.append(.close)
    }

    static func name(of step: SMTPClientStep) -> String {
        switch step {
        case .connect: "connection"
        case .tlsHandshake: "TLS handshake"
        case .greeting: "greeting"
        case .ehlo: "EHLO reply"
        case .startTLS: "STARTTLS reply"
        case .auth: "AUTH reply"
        case .mail: "MAIL FROM reply"
        case .rcpt: "RCPT TO reply"
        case .dataInitiation: "DATA reply"
        case .dataTermination: "end of data reply"
        case .reset: "RSET reply"
        case .quit: "QUIT reply"
        }
    }
}
