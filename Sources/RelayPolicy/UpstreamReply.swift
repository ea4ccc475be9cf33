// The facts the relay's outcome classifier looks at: an upstream SMTP reply (code, RFC 3463
// enhanced status, text), the phase of the session it answered, or a transport failure instead
// of a reply. Values only; the SMTP client produces them, RelayOutcome judges them.

/// An RFC 3463 enhanced status code, `class.subject.detail` (e.g. 5.7.8).
public struct EnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    public var statusClass: Int
    public var subject: Int
    public var detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `2.0.0`, `4.7.28`, `5.7.139`: class 2, 4 or 5, subject 1-3 digits, detail 1-3 digits.
    public init?(_ text: some StringProtocol) {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var numbers: [Int] = []
        for (index, part) in parts.enumerated() {
            let maxDigits = index == 0 ? 1 : 3
            guard (1...maxDigits).contains(part.count), part.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            numbers.append(part.reduce(0) { $0 * 10 + Int($1 - 0x30) })
        }
        guard [2, 4, 5].contains(numbers[0]) else { return nil }
        self.init(numbers[0], numbers[1], numbers[2])
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }
}

/// One complete upstream reply. `text` is the reply's lines without their codes, joined by "\n".
public struct UpstreamReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var enhancedStatus: EnhancedStatusCode?
    public var text: String

    public init(code: Int, enhancedStatus: EnhancedStatusCode?, text: String) {
        self.code = code
        self.enhancedStatus = enhancedStatus
        self.text = text
    }

    /// Takes the enhanced status from the start of `text` when there is one (`5.7.8 Username...`),
    /// keeping the rest as the text.
    public init(code: Int, text: String) {
        let firstWord = text.prefix { $0 != " " && $0 != "\n" }
        if let status = EnhancedStatusCode(firstWord) {
            self.init(code: code, enhancedStatus: status, text: String(text.dropFirst(firstWord.count).drop { $0 == " " }))
        } else {
            self.init(code: code, enhancedStatus: nil, text: text)
        }
    }

    /// `550 5.4.5 Daily user sending limit exceeded.`
    public var description: String {
        [String(code), enhancedStatus?.description, text].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}

/// The step of the upstream session a reply or failure belongs to.
public enum RelayPhase: Sendable, Hashable, CaseIterable {
    /// TCP connect, implicit TLS handshake and the 220 greeting.
    case greeting
    case ehlo
    case startTLS
    case auth
    case mailFrom
    case rcptTo
    /// The DATA command (354 expected) or a non-final BDAT chunk.
    case data
    /// The reply after the final dot or BDAT LAST: the upstream takes responsibility.
    case endOfData

    /// Before MAIL FROM nothing is about the message: every failure there is the account's.
    var isSessionSetup: Bool {
        switch self {
        case .greeting, .ehlo, .startTLS, .auth: true
        case .mailFrom, .rcptTo, .data, .endOfData: false
        }
    }
}

/// A session that ended without a reply.
public enum TransportFailure: Sendable, Hashable, CaseIterable {
    /// Refused, no route, DNS failure.
    case connectFailed
    /// Handshake or certificate verification failed.
    case tlsFailed
    /// No reply within the command timeout.
    case timedOut
    /// Reset or closed by the peer mid-session.
    case connectionLost
}
