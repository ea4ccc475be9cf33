// What an upstream SMTP session runs with: our EHLO name, the transport security the account
// demands, its credentials, per-step timeouts (RFC 5321 §4.5.3.2 defaults) and reply limits.
// Plain values the relay builds from an [[account]] entry for each connection it opens.

import MailCore

/// How the connection is secured. Never downgraded: `.startTLS` fails when it is not offered.
public enum SMTPClientSecurity: Sendable, Hashable {
    /// smtp:// : plain connect, STARTTLS required before anything else.
    case startTLS
    /// smtps:// : TLS from the first byte.
    case implicitTLS
    /// smtp+plain:// : no TLS at all (loopback smarthosts and sinks only); STARTTLS is not tried.
    case none
}

public enum SMTPClientCredentials: Sendable, Hashable {
    /// No AUTH is sent, whatever the server advertises (a local smarthost or smtp-sink).
    case none
    /// AUTH PLAIN when offered, else AUTH LOGIN.
    case password(user: String, password: String)
    /// AUTH XOAUTH2 with a bearer token (refreshed by the caller before it expires).
    case xoauth2(user: String, token: String)
}

/// The step the session is waiting in, for timeouts and failure reports.
public enum SMTPClientStep: Sendable, Hashable {
    case connect
    case tlsHandshake
    case greeting
    case ehlo
    case startTLS
    case auth
    case mail
    case rcpt
    case dataInitiation
    case dataTermination
    case reset
    case quit

    /// The phase the reply classifier judges a reply or failure at this step in.
    public var phase: UpstreamPhase {
        switch self {
        case .connect, .tlsHandshake, .greeting: .greeting
        case .ehlo: .ehlo
        case .startTLS: .startTLS
        case .auth: .auth
        case .mail: .mailFrom
        case .rcpt: .rcptTo
        case .dataInitiation: .data
        case .dataTermination: .endOfData
        case .reset, .quit: .reset
        }
    }
}

/// RFC 5321 §4.5.3.2 values as defaults. `dataBlock` is the service's: it bounds each write of
/// message content that makes no progress (the machine hands the content over in one action).
public struct SMTPClientTimeouts: Sendable, Hashable {
    public var connect: Duration = .seconds(30)
    public var tlsHandshake: Duration = .seconds(60)
    public var greeting: Duration = .seconds(300)
    /// EHLO/HELO, STARTTLS, AUTH, RSET and QUIT (RFC 5321 names none; MAIL's value).
    public var command: Duration = .seconds(300)
    public var mail: Duration = .seconds(300)
    public var rcpt: Duration = .seconds(300)
    public var dataInitiation: Duration = .seconds(120)
    public var dataBlock: Duration = .seconds(180)
    public var dataTermination: Duration = .seconds(600)

    public init() {}

    public func duration(for step: SMTPClientStep) -> Duration {
        switch step {
        case .connect: connect
        case .tlsHandshake: tlsHandshake
        case .greeting: greeting
        case .ehlo, .startTLS, .auth, .reset, .quit: command
        case .mail: mail
        case .rcpt: rcpt
        case .dataInitiation: dataInitiation
        case .dataTermination: dataTermination
        }
    }
}

public struct SMTPClientConfiguration: Sendable, Hashable {
    /// Our name in EHLO/HELO.
    public var heloName: String
    public var security: SMTPClientSecurity
    public var credentials: SMTPClientCredentials
    public var timeouts: SMTPClientTimeouts
    /// Longest reply line accepted, CRLF included (RFC 5321 §4.5.3.1.5 says 512; servers exceed it).
    public var maxReplyLineLength: Int
    /// Most lines in one reply (a long EHLO list is about 20).
    public var maxReplyLines: Int

    public init(heloName: String, security: SMTPClientSecurity, credentials: SMTPClientCredentials = .none,
                timeouts: SMTPClientTimeouts = SMTPClientTimeouts(),
                maxReplyLineLength: Int = 4096, maxReplyLines: Int = 100) {
        self.heloName = heloName
        self.security = security
        self.credentials = credentials
        self.timeouts = timeouts
        self.maxReplyLineLength = maxReplyLineLength
        self.maxReplyLines = maxReplyLines
    }
}
