// What the session asks its driver to do, what it hands over at end of data (the envelope), and
// the events it reports for logs. The driver executes actions in order; `.commit`, `.deliver`,
// `.authenticate`, `.authenticationResponse` and `.startTLS` each wait for the matching event call.

import MailCore

public enum SMTPAction: Sendable, Equatable {
    /// Write these bytes (one or more complete replies).
    case send([UInt8])
    /// The 220 for STARTTLS has been queued in a preceding `.send`: flush it, then run the TLS
    /// handshake and call `tlsEstablished()`. Input received before that is discarded.
    case startTLS
    /// Start a SASL server exchange; answer with `authenticationFinished(_:)`.
    /// `initialResponse` is nil when the client gave none, `[]` when it sent "=".
    case authenticate(mechanism: SMTPAuthMechanism, initialResponse: [UInt8]?)
    /// The client's (base64-decoded) answer to the last challenge; answer with `authenticationFinished(_:)`.
    case authenticationResponse([UInt8])
    /// The client cancelled ("*") or broke the exchange: dispose of the SASL state.
    case authenticationCancelled
    /// Store the message durably, then call `messageCommitted(queueID:)` or `messageCommitFailed(_:)`.
    /// The message is the client's bytes (dot-unstuffed); run `MessagePreparer` before storing.
    case commit(SMTPEnvelope, message: [UInt8])
    /// Inbound mode only: ingest the message (the client's bytes, dot-unstuffed), then call
    /// `messageCommitted(queueID:)` or `messageCommitFailed(_:)`.
    case deliver(SMTPInboundEnvelope, message: [UInt8])
    /// Close the connection after flushing what was sent.
    case close
    case log(SMTPLogEvent)
}

public enum SMTPAuthenticationResult: Sendable, Equatable {
    case success(user: SMTPUserIdentity)
    case failure
    /// Throttled or the backend is unavailable: 454 4.7.0, the client may retry.
    case temporaryFailure
    /// Send this challenge (raw bytes; the session base64-encodes it) and wait for a response.
    case challenge([UInt8])
}

public enum SMTPTimeout: Sendable, Equatable {
    case idle
    case session
}

public enum SMTPLogEvent: Sendable, Equatable {
    /// A command or message was refused with this reply.
    case refused(reason: String, reply: SMTPReply)
    /// Bytes pipelined after STARTTLS were thrown away (CVE-2011-0411); logged once per STARTTLS.
    case discardedAfterSTARTTLS
    case authenticated(user: String, mechanism: SMTPAuthMechanism)
    case authenticationFailed(mechanism: SMTPAuthMechanism)
    case commitFailed(reason: String)
    case closing(reason: String)
}

public enum DSNNotifyCondition: String, Sendable, Hashable, CaseIterable {
    case success = "SUCCESS"
    case failure = "FAILURE"
    case delay = "DELAY"
}

/// RFC 3461 NOTIFY: NEVER, or a non-empty set of conditions.
public enum DSNNotify: Sendable, Hashable {
    case never
    case on(Set<DSNNotifyCondition>)
}

public enum DSNReturn: String, Sendable, Hashable {
    case full = "FULL"
    case headers = "HDRS"
}

public enum SMTPBodyType: String, Sendable, Hashable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
}

public struct SMTPRecipient: Sendable, Hashable {
    public var address: MailboxAddress
    public var notify: DSNNotify?
    /// RFC 3461 ORCPT: address type (e.g. "rfc822") and the xtext-decoded original address.
    public var originalRecipientType: String?
    public var originalRecipientAddress: String?

    public init(address: MailboxAddress, notify: DSNNotify? = nil,
                originalRecipientType: String? = nil, originalRecipientAddress: String? = nil) {
        self.address = address
        self.notify = notify
        self.originalRecipientType = originalRecipientType
        self.originalRecipientAddress = originalRecipientAddress
    }
}

public struct SMTPEnvelope: Sendable, Hashable {
    /// Never the null sender: submission refuses `<>`.
    public var sender: MailboxAddress
    public var recipients: [SMTPRecipient]
    /// SIZE= as declared by the client, if any.
    public var declaredSize: Int?
    public var body: SMTPBodyType?
    public var smtpUTF8: Bool
    public var dsnReturn: DSNReturn?
    /// RFC 3461 ENVID, xtext-decoded.
    public var envelopeID: String?
    /// RFC 6710 MT-PRIORITY, -9...9, if given.
    public var mtPriority: Int?
    /// RFC 4865: release no earlier than this Unix time (from HOLDFOR or HOLDUNTIL).
    public var notBefore: Int64?
    public var user: SMTPUserIdentity
    /// True when `user` logged in with AUTH, false when it comes from a trusted network.
    public var authenticated: Bool
    /// BDAT (CHUNKING) rather than DATA carried the message.
    public var chunked: Bool
    /// The client's HELO/EHLO name, for the Received header.
    public var heloName: String
    /// EHLO (ESMTP) rather than HELO.
    public var extendedHello: Bool
    /// The message arrived over TLS (implicit or STARTTLS).
    public var overTLS: Bool

    public init(sender: MailboxAddress, recipients: [SMTPRecipient] = [], declaredSize: Int? = nil,
                body: SMTPBodyType? = nil, smtpUTF8: Bool = false, dsnReturn: DSNReturn? = nil,
                envelopeID: String? = nil, mtPriority: Int? = nil, notBefore: Int64? = nil,
                user: SMTPUserIdentity, authenticated: Bool, chunked: Bool = false,
                heloName: String = "", extendedHello: Bool = true, overTLS: Bool = true) {
        self.sender = sender
        self.recipients = recipients
        self.declaredSize = declaredSize
        self.body = body
        self.smtpUTF8 = smtpUTF8
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
        self.mtPriority = mtPriority
        self.notBefore = notBefore
        self.user = user
        self.authenticated = authenticated
        self.chunked = chunked
        self.heloName = heloName
        self.extendedHello = extendedHello
        self.overTLS = overTLS
    }
}

/// What the inbound listener hands over at end of data: no user, and maybe the null sender.
public struct SMTPInboundEnvelope: Sendable, Hashable {
    /// nil for the null reverse-path `<>` (delivery status notifications).
    public var sender: MailboxAddress?
    /// Every one at a domain of the inbound policy.
    public var recipients: [MailboxAddress]
    public var smtpUTF8: Bool
    public var chunked: Bool
    public var heloName: String
    public var extendedHello: Bool
    public var overTLS: Bool

    public init(sender: MailboxAddress?, recipients: [MailboxAddress], smtpUTF8: Bool = false, chunked: Bool = false,
                heloName: String = "", extendedHello: Bool = true, overTLS: Bool = false) {
        self.sender = sender
        self.recipients = recipients
        self.smtpUTF8 = smtpUTF8
        self.chunked = chunked
        self.heloName = heloName
        self.extendedHello = extendedHello
        self.overTLS = overTLS
    }
}
