// How the session ends badly: the message in flight (if any) gets its result first — recipients
// not yet decided carry the failure (the upstream's reply, or a local 4xx for timeouts, lost
// connections and protocol errors) — then `.sessionFailed` with the classified reason, then `.close`.
// The verdict is UpstreamReplyClassifier's: of the failure reply, else of the failure kind.

import MailCore

extension SMTPClientSession {
    mutating func fail(_ kind: SMTPSessionFailureKind, reply: SMTPReply?, detail: String,
                       into actions: inout [SMTPClientAction]) {
        guard state != .closed else { return }
        let step = currentStep ?? .connect
        let classification = reply.flatMap { $0.code >= 400 ? $0.verdict(at: step) : nil }
            ?? UpstreamReplyClassifier.classify(Self.failure(kind), in: step.phase)
        let recipientReply = reply.flatMap { $0.code >= 400 ? $0 : nil }
        reportUnfinishedMessage(reply: recipientReply ?? Self.localReply(kind, detail: detail),
                                fromUpstream: recipientReply != nil, classification: classification, into: &actions)
        actions.append(.sessionFailed(SMTPSessionFailure(kind: kind, classification: classification, reply: reply,
                                                         detail: detail)))
        close(into: &actions)
    }

    /// Emits the result of the message in flight, undecided recipients failing with `reply`.
    mutating func reportUnfinishedMessage(reply: SMTPReply, fromUpstream: Bool, classification: UpstreamVerdict,
                                          into actions: inout [SMTPClientAction]) {
        guard var transaction else { return }
        for index in transaction.results.indices where transaction.results[index] == nil {
            transaction.results[index] = SMTPRecipientResult(recipient: transaction.message.recipients[index].address,
                                                             outcome: classification, reply: reply,
                                                             fromUpstream: fromUpstream)
        }
        let result = SMTPMessageResult(recipients: transaction.results.compactMap { $0 },
                                       dataReply: transaction.dataReply, upstreamQueueID: nil)
        actions.append(.messageResult(result))
        self.transaction = nil
    }

    /// What ended the session when no failure reply says more (a 421 or a refusal does).
    static func failure(_ kind: SMTPSessionFailureKind) -> UpstreamFailure {
        switch kind {
        case .connectionLost: .connectionLost
        case .timeout: .timedOut
        case .greetingRefused, .serviceClosing, .protocolError: .protocolError
        case .tlsUnavailable, .tlsFailed: .tlsFailed
        case .authenticationUnavailable, .authenticationFailed: .authenticationImpossible
        }
    }

    static func localReply(_ kind: SMTPSessionFailureKind, detail: String) -> SMTPReply {
        switch kind {
        case .connectionLost, .timeout, .serviceClosing:
            SMTPReply(451, "4.4.2", detail)
        case .protocolError, .greetingRefused:
            SMTPReply(451, "4.5.0", detail)
        case .tlsUnavailable, .tlsFailed, .authenticationUnavailable, .authenticationFailed:
            SMTPReply(451, "4.7.0", detail)
        }
    }
}
