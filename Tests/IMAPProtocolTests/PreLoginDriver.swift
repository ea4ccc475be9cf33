// Test driver for IMAPPreLoginSession: feeds client bytes in chunks of any
// size, answers awaited actions the way the service will (a small credential
// table, a scripted upstream outcome) and records every action.
// STARTTLS handshakes are explicit steps: the driver never calls tlsEstablished() itself.
@testable import IMAPProtocol

let plainAliceSecret = "AGFsaWNlAHNlY3JldA=="  // base64("\0alice\0secret")

/// What a Dovecot upstream reports after login.
let dovecotPostLoginCapabilities = ["IMAP4rev1", "SASL-IR", "LOGIN-REFERRALS", "ID", "ENABLE", "IDLE", "SORT",
                                    "LITERAL+", "AUTH=PLAIN", "COMPRESS=DEFLATE", "STARTTLS", "MOVE"]
/// The same list as the client must see it.
let dovecotVisible = "IMAP4rev1 ID ENABLE IDLE SORT LITERAL+ MOVE"

enum ClientStep {
    case client(String)
    case clientBytes([UInt8])
    case tlsUp
    case timeout(IMAPPreLoginTimeout)
}

struct PreLoginDriver {
    var session: IMAPPreLoginSession
    var actions: [IMAPPreLoginAction] = []
    var upstreamOutcome: IMAPUpstreamLoginOutcome = .loggedIn(capabilities: dovecotPostLoginCapabilities)
    /// Client bytes the relay sends upstream: the handed-over ones, then the rest.
    var forwarded: [UInt8] = []
    /// When false, awaited actions are left unanswered (to test input held meanwhile).
    var answersEvents = true

    init(implicitTLS: Bool, policy: IMAPPreLoginPolicy? = nil) {
        session = IMAPPreLoginSession(policy: policy ?? IMAPPreLoginPolicy(implicitTLS: implicitTLS))
    }

    mutating func run(_ steps: [ClientStep], chunkSize: Int = 0) {
        for step in steps {
            switch step {
            case .client(let text): feed(bytes(text), chunkSize: chunkSize)
            case .clientBytes(let data): feed(data, chunkSize: chunkSize)
            case .tlsUp: handle(session.tlsEstablished())
            case .timeout(let kind): handle(session.timeout(kind))
            }
        }
    }

    /// Once relaying, client bytes go to the upstream, as the service does.
    mutating func feed(_ data: [UInt8], chunkSize: Int) {
        let size = chunkSize <= 0 ? max(1, data.count) : chunkSize
        var index = 0
        while index < data.count {
            let end = min(data.count, index + size)
            if session.isRelaying {
                forwarded.append(contentsOf: data[index..<end])
            } else {
                handle(session.receive(data[index..<end]))
            }
            index = end
        }
    }

    mutating func handle(_ new: [IMAPPreLoginAction]) {
        for action in new {
            actions.append(action)
            guard answersEvents else { continue }
            switch action {
            case .verifyCredentials(let request):
                handle(session.credentialsVerified(check(request)))
            case .connectUpstream:
                handle(session.upstreamLoginFinished(upstreamOutcome))
            case .startRelay(let pending):
                forwarded.append(contentsOf: pending)
            case .send, .startTLS, .close, .log:
                break
            }
        }
    }

    /// alice/secret is a gateway user; "busy" makes the check unavailable.
    private func check(_ request: IMAPLoginRequest) -> IMAPCredentialCheck {
        if request.user == "busy" { return .temporaryFailure }
        return request.user == "alice" && request.password == "secret" ? .accepted(user: "alice") : .rejected
    }

    /// Every response line sent, in order, without CRLF.
    var lines: [String] {
        var all: [UInt8] = []
        for case .send(let data) in actions { all.append(contentsOf: data) }
        var result: [String] = []
        var start = 0
        for index in all.indices where index > 0 && all[index - 1] == 13 && all[index] == 10 {
            result.append(String(decoding: all[start..<(index - 1)], as: UTF8.self))
            start = index + 1
        }
        return result
    }

    var actionsWithoutRelayBytes: [IMAPPreLoginAction] {
        actions.map { if case .startRelay = $0 { .startRelay(pendingClientBytes: []) } else { $0 } }
    }

    var closed: Bool { actions.contains(.close) }
    var relayed: [UInt8]? {
        for case .startRelay(let pending) in actions { return pending }
        return nil
    }
    var logs: [IMAPPreLoginLogEvent] {
        actions.compactMap { if case .log(let event) = $0 { return event } else { return nil } }
    }
}

func preLogin(_ steps: [ClientStep], implicitTLS: Bool, chunkSize: Int = 0,
              upstream: IMAPUpstreamLoginOutcome? = nil, policy: IMAPPreLoginPolicy? = nil) -> PreLoginDriver {
    var driver = PreLoginDriver(implicitTLS: implicitTLS, policy: policy)
    if let upstream { driver.upstreamOutcome = upstream }
    driver.handle(driver.session.start())
    driver.run(steps, chunkSize: chunkSize)
    return driver
}
