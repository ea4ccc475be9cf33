// UpstreamReplyClassifier apart from the wire (the provider reply table is in SMTPProtocolTests,
// through the client's reply reader): sessions that end without a reply, per phase; which
// verdicts cost an attempt; enhanced status parsing; hostile reply sizes; nonsense codes.
import MailCore
import Testing

@Suite struct UpstreamVerdictTests {
    @Test(arguments: [
        (UpstreamFailure.connectFailed, UpstreamPhase.greeting, UpstreamVerdict.accountProblem(.unreachable)),
        (.tlsFailed, .greeting, .accountProblem(.unreachable)),
        (.tlsFailed, .startTLS, .accountProblem(.unreachable)),
        (.timedOut, .greeting, .accountProblem(.unreachable)),
        (.timedOut, .ehlo, .accountProblem(.unreachable)),
        (.connectionLost, .auth, .accountProblem(.unreachable)),
        (.authenticationImpossible, .auth, .accountProblem(.authFailed)),
        (.protocolError, .ehlo, .accountProblem(.unreachable)),
        (.protocolError, .reset, .accountProblem(.unreachable)),
        (.timedOut, .mailFrom, .retryMessage(after: nil)),
        (.connectionLost, .rcptTo, .retryMessage(after: nil)),
        (.connectionLost, .data, .retryMessage(after: nil)),
        (.timedOut, .endOfData, .retryMessage(after: nil)),
        (.protocolError, .endOfData, .retryMessage(after: nil)),
    ])
    func sessionEndedWithoutAReply(failure: UpstreamFailure, phase: UpstreamPhase, verdict: UpstreamVerdict) {
        #expect(UpstreamReplyClassifier.classify(failure, in: phase) == verdict)
    }

    @Test(arguments: [
        (UpstreamVerdict.accepted, false), (.retryMessage(after: nil), true), (.failPermanently, true),
        (.recipientLimit, false), (.accountProblem(.authFailed), false),
        (.accountProblem(.rateLimited(retryAfter: nil)), false), (.accountProblem(.quotaExhausted), false),
        (.accountProblem(.suspended), false), (.accountProblem(.unreachable), false),
    ])
    func onlyMessageFailuresCostAnAttempt(verdict: UpstreamVerdict, costs: Bool) {
        #expect(verdict.costsAttempt == costs)
    }

    @Test(arguments: [
        ("5.7.8", EnhancedStatusCode(5, 7, 8) as EnhancedStatusCode?), ("4.7.28", EnhancedStatusCode(4, 7, 28)),
        ("5.7.139", EnhancedStatusCode(5, 7, 139)), ("2.0.0", EnhancedStatusCode(2, 0, 0)),
        ("3.0.0", nil), ("5.7", nil), ("5.7.8.1", nil), ("5..8", nil), ("55.7.8", nil), ("5.7.1000", nil),
        ("5.a.8", nil), ("", nil), ("5.7.8,", nil),
    ])
    func enhancedStatusParsing(text: String, status: EnhancedStatusCode?) {
        #expect(EnhancedStatusCode(text) == status)
    }

    /// Only the first 4 KiB of text is read: a phrase after that is not seen.
    @Test(arguments: [
        (String(repeating: "x", count: 100_000) + " daily sending quota", UpstreamVerdict.failPermanently),
        ("daily sending quota " + String(repeating: "x", count: 100_000), .accountProblem(.quotaExhausted)),
    ])
    func aHugeHostileReplyIsJudgedOnItsStart(text: String, verdict: UpstreamVerdict) {
        #expect(UpstreamReplyClassifier.classify(code: 550, enhanced: nil, text: text, in: .endOfData) == verdict)
    }

    @Test(arguments: [
        (999, UpstreamPhase.endOfData, UpstreamVerdict.retryMessage(after: nil)),
        (0, .ehlo, .accountProblem(.unreachable)),
        (-5, .rcptTo, .retryMessage(after: nil)),
        (Int.max, .auth, .accountProblem(.unreachable)),
        (354, .data, .accepted),
    ])
    func codesOutsideTheFailureRange(code: Int, phase: UpstreamPhase, verdict: UpstreamVerdict) {
        #expect(UpstreamReplyClassifier.classify(code: code, enhanced: nil, text: "what", in: phase) == verdict)
    }
}
