// The one classifier of upstream SMTP replies for the relay. Rules, first match wins: 2xx/3xx
// accepted; provider quota and suspension texts (UpstreamReplyPhrases) or 5.4.5; x.1.x and x.2.x
// after MAIL FROM are the recipient's; vaguer quota texts; x.5.3 or "too many recipients" on RCPT
// splits; rate texts, x.7.28, 4.4.5, 421 4.7.x and any 4.7.x after MAIL FROM are a rate limit;
// AUTH replies, 530/534/535, 5.7.8, 5.7.139 and "relay access denied" a login failure; other
// set-up failures and 421 make the upstream unreachable; then 4xx retry the message, 5xx fail it.
// Limit: texts are English, as providers send them; only the first 4 KiB of text is read.

public enum UpstreamReplyClassifier {
    public static func classify(code: Int, enhanced: EnhancedStatusCode?, text: String,
                                in phase: UpstreamPhase) -> UpstreamVerdict {
        if (200...399).contains(code) { return .accepted }
        // Nonsense codes are the caller's protocol error; judged like one here too.
        guard (400...599).contains(code) else { return classify(.protocolError, in: phase) }
        let permanent = code >= 500
        let lowered = UpstreamReplyPhrases.lowercasedPrefix(text)
        let status = enhanced.flatMap { $0.statusClass == code / 100 ? $0 : nil }
        func has(_ phrases: [String]) -> Bool { phrases.contains(where: lowered.contains) }
        func statusIs(_ subject: Int, _ detail: Int? = nil) -> Bool {
            guard let status else { return false }
            return status.subject == subject && (detail == nil || status.detail == detail)
        }

        if has(UpstreamReplyPhrases.quota) || (permanent && statusIs(4, 5)) { return .accountProblem(.quotaExhausted) }
        if has(UpstreamReplyPhrases.suspension) { return .accountProblem(.suspended) }
        // Past the specific quota and suspension phrases (Microsoft sends those as 5.2.0),
        // x.1.x (address) and x.2.x (mailbox) are the recipient's, whatever else the text says.
        if !phase.isSessionSetup && (statusIs(1) || statusIs(2)) {
            return permanent ? .failPermanently : .retryMessage(after: RetryHint.parse(text))
        }
        if has(UpstreamReplyPhrases.genericQuota) { return .accountProblem(.quotaExhausted) }
        if phase == .rcptTo && (statusIs(5, 3) || lowered.contains("too many recipients")) { return .recipientLimit }
        let providerRate = has(UpstreamReplyPhrases.rate) || statusIs(7, 28) || (!permanent && statusIs(4, 5))
            || (code == 421 && statusIs(7)) || (!permanent && !phase.isSessionSetup && statusIs(7))
        if providerRate { return .accountProblem(.rateLimited(retryAfter: RetryHint.parse(text))) }
        if phase == .auth { return .accountProblem(permanent ? .authFailed : .unreachable) }
        if [530, 534, 535].contains(code) || has(UpstreamReplyPhrases.authentication)
            || status == EnhancedStatusCode(5, 7, 8) || status == EnhancedStatusCode(5, 7, 139) {
            return .accountProblem(.authFailed)
        }
        if phase.isSessionSetup || code == 421 { return .accountProblem(.unreachable) }
        return permanent ? .failPermanently : .retryMessage(after: RetryHint.parse(text))
    }

    /// Judges a session that ended without a usable reply. During set-up it is the upstream's
    /// fault; inside a transaction the message may have been the trigger (or delivered: at least
    /// once), so it is retried on the schedule and costs an attempt (SPEC: timeouts are retried).
    public static func classify(_ failure: UpstreamFailure, in phase: UpstreamPhase) -> UpstreamVerdict {
        switch failure {
        case .connectFailed, .tlsFailed:
            .accountProblem(.unreachable)
        case .authenticationImpossible:
            .accountProblem(.authFailed)
        case .timedOut, .connectionLost, .protocolError:
            phase.isSessionSetup ? .accountProblem(.unreachable) : .retryMessage(after: nil)
        }
    }
}
