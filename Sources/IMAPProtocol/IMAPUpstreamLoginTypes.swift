// Configuration, actions and failures of IMAPUpstreamLogin (mailgate logging
// in to an account's upstream IMAP server).
// Contract: credentials never appear in descriptions; failures say whether the
// account's credentials were refused, the server is unavailable, or it spoke nonsense.

public struct IMAPUpstreamLoginConfiguration: Sendable, Hashable {
    public enum Security: Sendable, Hashable {
        /// imaps://: the driver runs TLS before the greeting.
        case implicitTLS
        /// imap://: STARTTLS is required; without it the login fails.
        case startTLS
        /// imap+plain:// (loopback test servers only): no TLS at all.
        case none
    }

    public enum Credential: Sendable, Hashable, CustomStringConvertible {
        case password(String)
        /// An OAuth2 access token, sent with AUTHENTICATE XOAUTH2.
        case oauth2Token(String)

        public var description: String {
            switch self {
            case .password: "password(<redacted>)"
            case .oauth2Token: "oauth2Token(<redacted>)"
            }
        }
    }

    public var security: Security
    public var username: String
    public var credential: Credential
    /// The client's address, sent as ID x-originating-ip when the server offers ID.
    public var clientAddress: String?
    /// The client's port, sent as x-originating-port with the address.
    public var clientPort: Int?
    public var maxResponseLength: Int

    public init(security: Security, username: String, credential: Credential, clientAddress: String? = nil,
                clientPort: Int? = nil, maxResponseLength: Int = 65536) {
        self.security = security
        self.username = username
        self.credential = credential
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.maxResponseLength = maxResponseLength
    }
}

public enum IMAPUpstreamLoginFailure: Sendable, Hashable {
    /// The server refused the account's credentials (tagged NO to the login).
    case authenticationRejected(String)
    /// BYE, NO [UNAVAILABLE], a closed connection or a timeout: try again later.
    case unavailable(String)
    /// Anything the login cannot work with: BAD, no STARTTLS, no usable
    /// mechanism, bytes injected after STARTTLS, unparseable responses.
    case protocolError(String)
}

public enum IMAPUpstreamLoginAction: Sendable, Hashable {
    /// Write these bytes to the upstream server.
    case send([UInt8])
    /// Run the client TLS handshake (verifying the server), then call
    /// `tlsEstablished()`.
    case startTLS
    /// Logged in. `capabilities` are the upstream's (unfiltered; see
    /// IMAPCapabilities.clientVisible). `pendingServerBytes` arrived after the
    /// final response and belong to the client once the relay starts.
    case loggedIn(capabilities: [String], pendingServerBytes: [UInt8])
    /// The login failed: close the upstream connection.
    case failed(IMAPUpstreamLoginFailure)
}
