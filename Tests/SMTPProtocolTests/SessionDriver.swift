// Test driver for SMTPServerSession: feeds a transcript in chunks of any size, answers the awaited
// actions the way the service will (commit -> queue id, SASL steps from a small credential table)
// and records every action, so transcripts can be compared across chunkings.
// STARTTLS handshakes are explicit steps: the driver never calls tlsEstablished() on its own.

import MailCore
@testable import SMTPProtocol

let fixedNow: Int64 = 1_700_000_000  // 2023-11-14T22:13:20Z

let alice = SMTPUserIdentity(name: "alice",
                             sendAs: [SendAsPattern("alice@example.test"), SendAsPattern("*@sales.example.test")]
                                .compactMap { $0 },
                             defaultPriority: .normal, maxPriority: .high)
let appUser = SMTPUserIdentity(name: "crm", sendAs: [SendAsPattern("*@example.test")].compactMap { $0 },
                               defaultPriority: .low, maxPriority: .critical)

func makePolicy(implicitTLS: Bool = true, tlsAvailable: Bool = true, trusted: SMTPUserIdentity? = nil,
                maxMessageSize: Int = 10_000, maxRecipients: Int = 100, maxJunk: Int = 20) -> SMTPServerPolicy {
    SMTPServerPolicy(hostname: "mx.example.test", maxMessageSize: maxMessageSize, maxRecipients: maxRecipients,
                     maxJunkCommands: maxJunk, implicitTLS: implicitTLS, tlsAvailable: tlsAvailable,
                     trustedUser: trusted, maxFutureRelease: 7 * 24 * 3600, clock: { fixedNow })
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
func base64(_ text: String) -> String { String(decoding: Base64.encode(Array(text.utf8)), as: UTF8.self) }

let plainAlice = base64("\u{0}alice\u{0}secret")
let authPrelude = "EHLO client.test\r\nAUTH PLAIN \(plainAlice)\r\n"

enum Step {
    case client(String)
    case clientBytes([UInt8])
    case tlsUp
    case timeout(SMTPTimeout)
}

struct SessionDriver {
    var session: SMTPServerSession
    var actions: [SMTPAction] = []
    var commits: [(envelope: SMTPEnvelope, message: [UInt8])] = []
    var deliveries: [(envelope: SMTPInboundEnvelope, message: [UInt8])] = []
    var commitFails = false
    private var loginStep = 0
    private var loginUser: [UInt8] = []
    private var queueCounter = 0

    init(policy: SMTPServerPolicy = makePolicy()) {
        session = SMTPServerSession(policy: policy)
    }

    /// Runs steps; `chunkSize` 0 feeds each client step at once.
    mutating func run(_ steps: [Step], chunkSize: Int = 0) {
        for step in steps {
            switch step {
            case .client(let text): feed(bytes(text), chunkSize: chunkSize)
            case .clientBytes(let data): feed(data, chunkSize: chunkSize)
            case .tlsUp: handle(session.tlsEstablished())
            case .timeout(let kind): handle(session.timeout(kind))
            }
        }
    }

    mutating func feed(_ data: [UInt8], chunkSize: Int) {
        let size = chunkSize <= 0 ? max(1, data.count) : chunkSize
        var index = 0
        while index < data.count {
            let end = min(data.count, index + size)
            handle(session.receive(data[index..<end]))
            index = end
        }
    }

    mutating func handle(_ new: [SMTPAction]) {
        for action in new {
            actions.append(action)
            switch action {
            case .commit(let envelope, let message):
                commits.append((envelope, message))
                if commitFails {
                    handle(session.messageCommitFailed("disk full"))
                } else {
                    queueCounter += 1
                    handle(session.messageCommitted(queueID: "Q\(queueCounter)"))
                }
            case .deliver(let envelope, let message):
                deliveries.append((envelope, message))
                if commitFails {
                    handle(session.messageCommitFailed("database down"))
                } else {
                    queueCounter += 1
                    handle(session.messageCommitted(queueID: "I\(queueCounter)"))
                }
            case .authenticate(let mechanism, let initial):
                handle(session.authenticationFinished(sasl(mechanism, initial)))
            case .authenticationResponse(let response):
                handle(session.authenticationFinished(loginContinue(response)))
            case .send, .startTLS, .authenticationCancelled, .close, .log:
                break
            }
        }
    }

    /// A stand-in for the Cyrus exchange: PLAIN with "\0alice\0secret", LOGIN alice/secret.
    private mutating func sasl(_ mechanism: SMTPAuthMechanism, _ initial: [UInt8]?) -> SMTPAuthenticationResult {
        switch mechanism {
        case .plain:
            guard let initial else { loginStep = 10; return .challenge([]) }
            return checkPlain(initial)
        case .login:
            if let initial {
                loginUser = initial
                loginStep = 2
                return .challenge(bytes("Password:"))
            }
            loginStep = 1
            return .challenge(bytes("Username:"))
        }
    }

    private mutating func loginContinue(_ response: [UInt8]) -> SMTPAuthenticationResult {
        switch loginStep {
        case 10:
            return checkPlain(response)
        case 1:
            loginUser = response
            loginStep = 2
            return .challenge(bytes("Password:"))
        default:
            return loginUser == bytes("alice") && response == bytes("secret") ? .success(user: alice) : .failure
        }
    }

    private func checkPlain(_ response: [UInt8]) -> SMTPAuthenticationResult {
        response == bytes("\u{0}alice\u{0}secret") ? .success(user: alice) : .failure
    }

    /// Every reply line sent, in order.
    var replyLines: [String] {
        var all: [UInt8] = []
        for case .send(let data) in actions { all.append(contentsOf: data) }
        var lines: [String] = []
        var start = 0
        for index in all.indices where index > 0 && all[index - 1] == 13 && all[index] == 10 {
            lines.append(String(decoding: all[start..<(index - 1)], as: UTF8.self))
            start = index + 1
        }
        return lines
    }

    /// The final line of each reply ("250 2.1.0 Ok").
    var replies: [String] { replyLines.filter { $0.count >= 4 && Array($0)[3] == " " } }

    /// Code and enhanced code of each reply ("250 2.1.0"; "354" for replies without one).
    var codes: [String] {
        replies.map { line in
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            if parts.count > 1, parts[1].first?.isNumber == true, parts[1].contains(".") { return parts[0] + " " + parts[1] }
            return parts[0]
        }
    }

    var closed: Bool { actions.contains(.close) }
}

/// Deterministic generator for fuzzing and Message-ID tokens.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func transcript(_ steps: [Step], policy: SMTPServerPolicy = makePolicy(), chunkSize: Int = 0,
                commitFails: Bool = false) -> SessionDriver {
    var driver = SessionDriver(policy: policy)
    driver.commitFails = commitFails
    driver.run(steps, chunkSize: chunkSize)
    return driver
}

let simpleMessage = "From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n"
