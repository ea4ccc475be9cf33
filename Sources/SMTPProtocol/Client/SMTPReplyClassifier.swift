// Classifies an upstream failure reply for the relay: temporary (4xx) or permanent (5xx), and
// whose problem it is (message, recipient limit, account, connection), plus any retry hint.
// Order: mailbox status (x.2.x) is the recipient's; 4.5.3/5.5.3 or "too many recipients" on RCPT
// means split; 4.7.x, x.4.5, x.7.28, 530/534/535 and rate/quota wording are the account's; other
// 421s are the connection's; the rest is the message's. Limits: English wording only.

public enum SMTPReplyClassifier {
    /// nil for a positive or intermediate reply (below 400).
    public static func classify(_ reply: SMTPReply, step: SMTPClientStep) -> SMTPFailureClass? {
        guard reply.code >= 400 else { return nil }
        return SMTPFailureClass(permanent: reply.code >= 500, scope: scope(of: reply, step: step),
                                retryAfter: RetryHint.parse(reply.text))
    }

    private static let accountWording = [
        "rate limit", "ratelimit", "rate-limit", "too many messages", "sending limit", "daily limit",
        "sending quota", "quota exceeded", "limit exceeded", "account suspended", "account disabled",
        "account has been disabled", "account is disabled",
    ]

    static func scope(of reply: SMTPReply, step: SMTPClientStep) -> SMTPFailureScope {
        switch step {
        case .auth:
            return .account
        case .connect, .tlsHandshake, .greeting, .ehlo, .startTLS:
            return isAccountSignal(reply) ? .account : .connection
        case .mail, .rcpt, .dataInitiation, .dataTermination, .reset, .quit:
            break
        }
        let parts = enhancedParts(reply)
        if let parts, parts.subject == 2 { return .message }
        if step == .rcpt, isRecipientLimit(reply, parts) { return .recipientLimit }
        if isAccountSignal(reply) { return .account }
        if reply.code == 421 { return .connection }
        return .message
    }

    private static func isRecipientLimit(_ reply: SMTPReply, _ parts: (subject: Int, detail: Int)?) -> Bool {
        if let parts, parts.subject == 5, parts.detail == 3 { return true }
        return reply.text.lowercased().contains("too many recipients")
    }

    static func isAccountSignal(_ reply: SMTPReply) -> Bool {
        if [530, 534, 535].contains(reply.code) { return true }
        if let parts = enhancedParts(reply) {
            if reply.code < 500 && parts.subject == 7 { return true }
            if parts.subject == 4 && parts.detail == 5 { return true }
            if parts.subject == 7 && parts.detail == 28 { return true }
        }
        let text = reply.text.lowercased()
        return accountWording.contains { text.contains($0) }
    }

    /// Subject and detail of the enhanced code ("4.7.28" gives 7, 28).
    static func enhancedParts(_ reply: SMTPReply) -> (subject: Int, detail: Int)? {
        guard let enhanced = reply.enhanced else { return nil }
        let parts = enhanced.split(separator: ".")
        guard parts.count == 3, let subject = Int(parts[1]), let detail = Int(parts[2]) else { return nil }
        return (subject, detail)
    }
}
