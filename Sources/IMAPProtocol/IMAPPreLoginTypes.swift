// The pre-login session's policy, the actions it asks its driver to run, the
// results the driver reports back, and its log events.
// Contract: the driver runs actions in order; `.startTLS`, `.verifyCredentials`
// and `.connectUpstream` each wait for the matching event call on the session.

/// Per-listener settings of the pre-login phase.
public struct IMAPPreLoginPolicy: Sendable, Hashable {
    /// True on `listen_tls` (TLS before the greeting); false on `listen`
    /// (STARTTLS, LOGINDISABLED until TLS).
    public var implicitTLS: Bool
    public var limits: IMAPCommandLimits
    /// Refused commands tolerated before `* BYE` (Dovecot uses 10).
    public var maxBadCommands: Int
    /// Failed logins tolerated before `* BYE`.
    public var maxFailedLogins: Int
    /// Bytes the client may pipeline while a check or the upstream login runs.
    public var maxPendingInput: Int
    /// The name answered to ID.
    public var serverName: String

    public init(implicitTLS: Bool, limits: IMAPCommandLimits = .preLogin, maxBadCommands: Int = 10,
                maxFailedLogins: Int = 3, maxPendingInput: Int = 65536, serverName: String = "mailgate") {
        self.implicitTLS = implicitTLS
        self.limits = limits
        self.maxBadCommands = maxBadCommands
        self.maxFailedLogins = maxFailedLogins
        self.maxPendingInput = maxPendingInput
        self.serverName = serverName
    }
}

public enum IMAPLoginMechanism: String, Sendable, Hashable {
    case login = "LOGIN"
    case authenticatePlain = "AUTHENTICATE PLAIN"
}

/// Credentials the client gave; the description hides the password.
public struct IMAPLoginRequest: Sendable, Hashable, CustomStringConvertible {
    public var user: String
    public var password: String
    public var mechanism: IMAPLoginMechanism

    public init(user: String, password: String, mechanism: IMAPLoginMechanism) {
        self.user = user
        self.password = password
        self.mechanism = mechanism
    }

    public var description: String { "IMAPLoginRequest(user: \(user), mechanism: \(mechanism.rawValue))" }
}

/// The driver's verdict on `.verifyCredentials`.
public enum IMAPCredentialCheck: Sendable, Hashable {
    /// The gateway user exists, the password matches and it has an IMAP
    /// account; `user` is the canonical user name.
    case accepted(user: String)
    /// Unknown user, wrong password or no IMAP account: NO [AUTHENTICATIONFAILED].
    case rejected
    /// Throttled or the password check is unavailable: NO [UNAVAILABLE].
    case temporaryFailure
}

/// The driver's report on `.connectUpstream` (normally from IMAPUpstreamLogin).
public enum IMAPUpstreamLoginOutcome: Sendable, Hashable {
    /// Logged in upstream; the upstream's capabilities after login (unfiltered).
    case loggedIn(capabilities: [String])
    case failed(IMAPUpstreamLoginFailure)
}

public enum IMAPPreLoginTimeout: Sendable, Hashable {
    /// No command for too long.
    case idle
    /// The whole pre-login phase took too long.
    case loginDeadline
}

/// One ID field the client sent (RFC 2971); `value` nil for NIL.
public struct IMAPIDParameter: Sendable, Hashable {
    public var name: String
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

public enum IMAPPreLoginAction: Sendable, Hashable {
    /// Write these bytes (complete responses).
    case send([UInt8])
    /// The tagged OK for STARTTLS was queued in a preceding `.send`: flush it,
    /// run the TLS handshake, then call `tlsEstablished()`. Input received
    /// before that is discarded.
    case startTLS
    /// Check the gateway user's password, then call `credentialsVerified(_:)`.
    case verifyCredentials(IMAPLoginRequest)
    /// Connect to the upstream IMAP server of `user`'s account and log in
    /// there (IMAPUpstreamLogin), then call `upstreamLoginFinished(_:)`.
    case connectUpstream(user: String)
    /// The tagged OK for the login was queued in a preceding `.send`: from now
    /// on relay both ways. `pendingClientBytes` arrived after the login
    /// command and go to the upstream first. The session is finished.
    case startRelay(pendingClientBytes: [UInt8])
    /// Close the connection after flushing what was sent.
    case close
    case log(IMAPPreLoginLogEvent)
}

public enum IMAPPreLoginLogEvent: Sendable, Hashable {
    /// A command was refused with this response (its text, without CRLF).
    case refused(reason: String, response: String)
    /// Bytes pipelined after STARTTLS were thrown away (CVE-2011-0411);
    /// logged once per STARTTLS whatever the chunking.
    case discardedAfterSTARTTLS
    case clientID([IMAPIDParameter])
    case loginSucceeded(user: String, mechanism: IMAPLoginMechanism)
    case loginFailed(user: String, mechanism: IMAPLoginMechanism)
    case upstreamLoginFailed(user: String, IMAPUpstreamLoginFailure)
    case closing(reason: String)
}
