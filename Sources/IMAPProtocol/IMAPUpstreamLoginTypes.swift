// Configuration, actions and failures of IMAPUpstreamLogin (mailgate logging
// in to an account's upstream IMAP server). The account (who logs in, and for
// which client) is apart from the connection, so a connection can be made ready
// before anyone logs in on it.
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
    public var account: IMAPUpstreamAccount
    public var maxResponseLength: Int

    public init(security: Security, username: String, credential: Credential, clientAddress: String? = nil,
                clientPort: Int? = nil, maxResponseLength: Int = IMAPUpstreamLogin.defaultMaxResponseLength) {
        self.security = security
        self.account = IMAPUpstreamAccount(username: username, credential: credential, clientAddress: clientAddress,
                                           clientPort: clientPort)
        self.maxResponseLength = maxResponseLength
    }
}

/// Who logs in upstream, and on behalf of which client.
public struct IMAPUpstreamAccount: Sendable, Hashable {
    public var username: String
    public var credential: IMAPUpstreamLoginConfiguration.Credential
    /// The client's address, sent as ID x-originating-ip when the server offers ID.
    public var clientAddress: String?
    /// The client's port, sent as x-originating-port with the address.
    public var clientPort: Int?

    public init(username: String, credential: IMAPUpstreamLoginConfiguration.Credential, clientAddress: String? = nil,
                clientPort: Int? = nil) {
        self.username = username
        self.credential = credential
        self.clientAddress = clientAddress
        self.clientPort = clientPort
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
    /// Greeted, TLS in place and capabilities known (a machine made without an
    /// account only): the connection may wait here until `logIn(as:)`.
    case ready(capabilities: [String])
    /// Logged in. `capabilities` are the upstream's (unfiltered; see
    /// IMAPCapabilities.clientVisible). `pendingServerBytes` arrived after the
    /// final response and belong to the client once the relay starts.
    case loggedIn(capabilities: [String], pendingServerBytes: [UInt8])
    /// The login failed: close the upstream connection.
    case failed(IMAPUpstreamLoginFailure)
}
