// The upstream session's vocabulary: the message the relay hands in, what the session asks the
// relay to do (actions) and the results it reports: per recipient, per message, per session,
// each failure judged by MailCore's UpstreamReplyClassifier (message, recipient limit, account).
// Contract: every `send(_:)` is answered by exactly one `.messageResult`, even when the session dies.

import MailCore

public struct SMTPClientMessage: Sendable, Hashable {
    /// nil sends the null reverse-path `<>` (DSNs).
    public var sender: MailboxAddress?
    public var recipients: [SMTPRecipient]
    /// The message, lines already CRLF-terminated; not dot-stuffed (the session does that).
    public var content: [UInt8]
    /// RFC 6531: also set on its own when an address is not ASCII.
    public var requiresSMTPUTF8: Bool
    /// RFC 3461 RET and ENVID, sent only when the server offers DSN.
    public var dsnReturn: DSNReturn?
    public var envelopeID: String?

    public init(sender: MailboxAddress?, recipients: [SMTPRecipient], content: [UInt8],
                requiresSMTPUTF8: Bool = false, dsnReturn: DSNReturn? = nil, envelopeID: String? = nil) {
        self.sender = sender
        self.recipients = recipients
        self.content = content
        self.requiresSMTPUTF8 = requiresSMTPUTF8
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
    }
}

public struct SMTPRecipientResult: Sendable, Hashable {
    public var recipient: MailboxAddress
    /// `.accepted` when sent; otherwise whose failure it is and what the relay does with it.
    public var outcome: UpstreamVerdict
    /// The reply that decided: the end-of-data reply when sent, else the refusal (MAIL, RCPT,
    /// DATA, end of data) or a local reply (`fromUpstream` false: timeout, lost connection, size).
    public var reply: SMTPReply
    public var fromUpstream: Bool
}

public struct SMTPMessageResult: Sendable, Hashable {
    /// One per envelope recipient, in envelope order.
    public var recipients: [SMTPRecipientResult]
    /// The reply after end of data, when the message got that far.
    public var dataReply: SMTPReply?
    /// Parsed from the end-of-data reply ("queued as X", "id=X") when present.
    public var upstreamQueueID: String?
}

public enum SMTPSessionFailureKind: Sendable, Hashable {
    /// Connect failed or the connection closed or broke before the session ended.
    case connectionLost
    case timeout(SMTPClientStep)
    /// The greeting was not 220, or EHLO/HELO was refused.
    case greetingRefused
    /// STARTTLS required but not offered or refused: never downgraded.
    case tlsUnavailable
    /// The TLS handshake failed (certificate verification included), as the service reported.
    case tlsFailed
    /// Credentials configured but the server offers no AUTH mechanism we can use.
    case authenticationUnavailable
    /// AUTH refused (535, 534, 454, ...).
    case authenticationFailed
    /// 421: the server is closing the session.
    case serviceClosing
    /// A garbled, oversized or unexpected reply, or plaintext injected after STARTTLS.
    case protocolError
}

public struct SMTPSessionFailure: Sendable, Hashable {
    public var kind: SMTPSessionFailureKind
    public var classification: UpstreamVerdict
    /// The upstream reply that ended the session, if one did.
    public var reply: SMTPReply?
    /// Human-readable, for logs.
    public var detail: String
}

public enum SMTPClientAction: Sendable, Hashable {
    /// Write these bytes to the upstream.
    case send([UInt8])
    /// Flush what was sent, run the client TLS handshake (verifying the certificate), then call
    /// `tlsEstablished()` or `tlsFailed(_:)`. Read nothing from the socket meanwhile.
    case startTLS
    /// The session is idle and can take a message (`send(_:)`) or `quit()`.
    case ready
    case messageResult(SMTPMessageResult)
    /// The session is over; a `.close` follows.
    case sessionFailed(SMTPSessionFailure)
    /// Close the connection (after flushing what was sent) and drop the session.
    case close
}
