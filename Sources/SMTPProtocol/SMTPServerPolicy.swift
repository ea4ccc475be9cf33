// Configuration a submission session runs under: limits, TLS situation, trust, AUTH mechanisms,
// and the identity of a user (send-as rules, priority bounds). Plain values, built by the service
// from the config for each accepted connection.
// Limits: the clock is a closure so the machine stays pure (tests pass a fixed time).

import MailCore

/// Who is submitting: a SASL-authenticated user or the user a trusted network maps to.
public struct SMTPUserIdentity: Sendable, Hashable {
    public var name: String
    public var sendAs: [SendAsPattern]
    public var defaultPriority: MessagePriority
    public var maxPriority: MessagePriority

    public init(name: String, sendAs: [SendAsPattern],
                defaultPriority: MessagePriority = .normal, maxPriority: MessagePriority = .normal) {
        self.name = name
        self.sendAs = sendAs
        self.defaultPriority = defaultPriority
        self.maxPriority = maxPriority
    }

    public func maySend(as address: MailboxAddress) -> Bool {
        sendAs.contains { $0.matches(address) }
    }
}

public enum SMTPAuthMechanism: String, Sendable, Hashable, CaseIterable {
    case plain = "PLAIN"
    case login = "LOGIN"
}

public struct SMTPServerPolicy: Sendable {
    /// Our name in the greeting, EHLO reply and Received headers.
    public var hostname: String
    /// Largest message accepted, in octets, as sent (after dot-unstuffing).
    public var maxMessageSize: Int
    public var maxRecipients: Int
    /// Longest command or text line, including CRLF (RFC 5321 §4.5.3.1.4, .6).
    public var maxLineLength: Int
    /// Longest AUTH command or SASL response line, including CRLF (RFC 4954 §4: 12288).
    public var maxAuthLineLength: Int
    /// Errors (unknown verb, bad sequence, syntax, failed AUTH) tolerated before the first
    /// successful MAIL; one more ends the session with 421.
    public var maxJunkCommands: Int
    /// Bytes held while the machine waits for commit/auth results (pipelined input).
    public var maxPendingInput: Int
    /// The connection is TLS from the start (port 465).
    public var implicitTLS: Bool
    /// STARTTLS can be offered (a certificate is configured).
    public var tlsAvailable: Bool
    /// Set when the client address is in a trusted network: it submits as this user without AUTH
    /// and without the TLS requirement.
    public var trustedUser: SMTPUserIdentity?
    /// Offered and accepted only once the connection is under TLS.
    public var authMechanisms: [SMTPAuthMechanism]
    /// Longest FUTURERELEASE hold, in seconds (RFC 4865 max-future-release-interval).
    public var maxFutureRelease: Int64
    /// Current time in seconds since the Unix epoch (HOLDUNTIL checks, FUTURERELEASE advert).
    public var clock: @Sendable () -> Int64
    /// Set for the inbound (port 25) listener: mail from anyone to these domains only, no AUTH.
    public var inbound: SMTPInboundPolicy?

    public init(hostname: String,
                maxMessageSize: Int = 35 * 1024 * 1024,
                maxRecipients: Int = 100,
                maxLineLength: Int = 1000,
                maxAuthLineLength: Int = 12288,
                maxJunkCommands: Int = 20,
                maxPendingInput: Int = 256 * 1024,
                implicitTLS: Bool = false,
                tlsAvailable: Bool = true,
                trustedUser: SMTPUserIdentity? = nil,
                authMechanisms: [SMTPAuthMechanism] = [.plain, .login],
                maxFutureRelease: Int64 = 7 * 24 * 3600,
                inbound: SMTPInboundPolicy? = nil,
                clock: @escaping @Sendable () -> Int64) {
        self.hostname = hostname
        self.maxMessageSize = maxMessageSize
        self.maxRecipients = maxRecipients
        self.maxLineLength = maxLineLength
        self.maxAuthLineLength = maxAuthLineLength
        self.maxJunkCommands = maxJunkCommands
        self.maxPendingInput = maxPendingInput
        self.implicitTLS = implicitTLS
        self.tlsAvailable = tlsAvailable
        self.trustedUser = trustedUser
        self.authMechanisms = authMechanisms
        self.maxFutureRelease = maxFutureRelease
        self.clock = clock
        self.inbound = inbound
    }
}

/// The inbound listener's rules (SPEC §3): any sender, the null sender included (bounces), but
/// recipients only at our own domains (no relaying); no AUTH, no submission-only extensions.
public struct SMTPInboundPolicy: Sendable, Hashable {
    /// Accepted recipient domains, lower-cased.
    public var domains: Set<String>

    public init(domains: some Sequence<String>) {
        self.domains = Set(domains.map { $0.lowercased() })
    }

    public func accepts(_ recipient: MailboxAddress) -> Bool {
        domains.contains(recipient.domain.lowercased())
    }
}

extension StringProtocol {
    func trimmingBlanks() -> Substring {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
