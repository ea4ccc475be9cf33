// Test driver for SMTPClientSession: plays a scripted upstream (server bytes fed in chunks of any
// size, TLS and connection events, the relay's send/quit) and records every action, the bytes the
// client wrote, the results and the wait step after each script step, so transcripts can be
// compared across chunkings. It answers nothing on its own: the script is the upstream.

import MailCore
@testable import SMTPProtocol

enum UpstreamStep {
    case connect
    case server(String)
    case serverBytes([UInt8])
    case tlsUp
    case tlsFails(String)
    case timeout
    case closed
    case send(SMTPClientMessage)
    case quit
}

struct ClientSessionDriver {
    var session: SMTPClientSession
    var actions: [SMTPClientAction] = []
    /// The step waited on after each script step (nil when idle or closed).
    var waits: [SMTPClientStep?] = []

    init(_ configuration: SMTPClientConfiguration) {
        session = SMTPClientSession(configuration: configuration)
    }

    mutating func run(_ steps: [UpstreamStep], chunkSize: Int = 0) {
        for step in steps {
            switch step {
            case .connect: actions += session.connected()
            case .server(let text): feed(Array(text.utf8), chunkSize: chunkSize)
            case .serverBytes(let data): feed(data, chunkSize: chunkSize)
            case .tlsUp: actions += session.tlsEstablished()
            case .tlsFails(let detail): actions += session.tlsFailed(detail)
            case .timeout: actions += session.timeout()
            case .closed: actions += session.connectionClosed()
            case .send(let message): actions += session.send(message)
            case .quit: actions += session.quit()
            }
            waits.append(session.currentWait?.step)
        }
    }

    private mutating func feed(_ data: [UInt8], chunkSize: Int) {
        let size = chunkSize <= 0 ? max(1, data.count) : chunkSize
        var index = 0
        while index < data.count {
            let end = min(data.count, index + size)
            actions += session.receive(data[index..<end])
            index = end
        }
    }

    /// Everything the client wrote, as text.
    var written: String {
        var all: [UInt8] = []
        for case .send(let data) in actions { all += data }
        return String(decoding: all, as: UTF8.self)
    }

    var results: [SMTPMessageResult] { actions.compactMap { if case .messageResult(let r) = $0 { r } else { nil } } }
    var failure: SMTPSessionFailure? { actions.lazy.compactMap { if case .sessionFailed(let f) = $0 { f } else { nil } }.first }
    var readyCount: Int { actions.filter { $0 == .ready }.count }
    var closed: Bool { actions.last == .close }
    var startTLSCount: Int { actions.filter { $0 == .startTLS }.count }

    /// Outcomes of the n-th message, as short strings: "sent", "retry", "fail", "split", "account:rate", ...
    func outcomes(_ message: Int = 0) -> [String] {
        guard message < results.count else { return ["no result"] }
        return results[message].recipients.map { Self.describe($0.outcome) }
    }

    static func describe(_ verdict: UpstreamVerdict) -> String {
        switch verdict {
        case .accepted: "sent"
        case .retryMessage: "retry"
        case .failPermanently: "fail"
        case .recipientLimit: "split"
        case .accountProblem(let problem): "account:\(describe(problem))"
        }
    }

    static func describe(_ problem: AccountProblem) -> String {
        switch problem {
        case .authFailed: "auth"
        case .rateLimited: "rate"
        case .quotaExhausted: "quota"
        case .suspended: "suspended"
        case .unreachable: "unreachable"
        }
    }
}

func upstreamTranscript(_ configuration: SMTPClientConfiguration, _ steps: [UpstreamStep],
                        chunkSize: Int = 0) -> ClientSessionDriver {
    var driver = ClientSessionDriver(configuration)
    driver.run(steps, chunkSize: chunkSize)
    return driver
}

// MARK: fixtures

func mailbox(_ text: String) -> MailboxAddress {
    let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
    return MailboxAddress(localPart: parts[0], domain: parts.count > 1 ? parts[1] : "")
}

func outbound(from sender: String? = "alice@example.test", to recipients: [String],
              content: String = "Subject: hi\r\n\r\nHello\r\n") -> SMTPClientMessage {
    SMTPClientMessage(sender: sender.map(mailbox), recipients: recipients.map { SMTPRecipient(address: mailbox($0)) },
                      content: Array(content.utf8))
}

let relayName = "relay.mailgate.test"
let salesLogin = SMTPClientCredentials.password(user: "sales@example.test", password: "s3cret")
let salesPlain = base64("\u{0}sales@example.test\u{0}s3cret")

func clientConfig(_ security: SMTPClientSecurity = .startTLS,
                  _ credentials: SMTPClientCredentials = .none) -> SMTPClientConfiguration {
    SMTPClientConfiguration(heloName: relayName, security: security, credentials: credentials)
}

/// Postfix 3.7 with smtpd_tls_security_level=may and SASL offered only under TLS.
let postfixGreeting = "220 mx.upstream.test ESMTP Postfix (Debian/GNU)\r\n"
let postfixEHLOPlain = "250-mx.upstream.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    + "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
let postfixEHLOTLS = "250-mx.upstream.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    + "250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
    + "250-SMTPUTF8\r\n250 CHUNKING\r\n"
let postfixSetUp: [UpstreamStep] = [
    .connect, .server(postfixGreeting), .server(postfixEHLOPlain), .server("220 2.0.0 Ready to start TLS\r\n"),
    .tlsUp, .server(postfixEHLOTLS), .server("235 2.7.0 Authentication successful\r\n"),
]
let postfixSetUpWritten = "EHLO \(relayName)\r\nSTARTTLS\r\nEHLO \(relayName)\r\nAUTH PLAIN \(salesPlain)\r\n"

/// Postfix's smtp-sink: AUTH advertised (answered 250), no STARTTLS.
let sinkGreeting = "220 sink.test ESMTP\r\n"
let sinkEHLO = "250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n"
    + "250-XCLIENT NAME HELO\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n250-ENHANCEDSTATUSCODES\r\n250-SIZE\r\n250 DSN\r\n"

/// A server without PIPELINING (and without DSN or SIZE), plain, no TLS.
let plainGreeting = "220 old.upstream.test SMTP ready\r\n"
let plainEHLO = "250-old.upstream.test Hello\r\n250-8BITMIME\r\n250 HELP\r\n"
