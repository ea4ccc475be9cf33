// How the session ends badly: the message in flight (if any) gets its result first — recipients
// not yet decided carry the failure (the upstream's reply, or a local 4xx for timeouts, lost
// connections and protocol errors) — then `.sessionFailed` with the classified reason, then `.close`.

extension SMTPClientSession {
    mutating func fail(_ kind: SMTPSessionFailureKind, reply: SMTPReply?, detail: String,
                       into actions: inout [SMTPClientAction]) {
        guard state != .closed else { return }
        let step = currentStep ?? .connect
        let classification = reply.flatMap { SMTPReplyClassifier.classify($0, step: step) }
            ?? Self.defaultClassification(kind)
        let recipientReply = reply.flatMap { $0.code >= 400 ? $0 : nil }
        reportUnfinishedMessage(reply: recipientReply ?? Self.localReply(kind, detail: detail),
                                fromUpstream: recipientReply != nil, classification: classification, into: &actions)
        actions.append(.sessionFailed(SMTPSessionFailure(kind: kind, classification: classification, reply: reply,
                                                         detail: detail)))
        close(into: &actions)
    }

    /// Emits the result of the message in flight, undecided recipients failing with `reply`.
    mutating func reportUnfinishedMessage(reply: SMTPReply, fromUpstream: Bool, classification: SMTPFailureClass,
                                          into actions: inout [SMTPClientAction]) {
        guard var transaction else { return }
        for index in transaction.results.indices where transaction.results[index] == nil {
            transaction.results[index] = SMTPRecipientResult(recipient: transaction.message.recipients[index].address,
                                                             outcome: .failed(classification), reply: reply,
                                                             fromUpstream: fromUpstream)
        }
        let result = SMTPMessageResult(recipients: transaction.results.compactMap { $0 },
                                       dataReply: transaction.dataReply, upstreamQueueID: nil)
        actions.append(.messageResult(result))
        self.transaction = nil
    }

    static func defaultClassification(_ kind: SMTPSessionFailureKind) -> SMTPFailureClass {
        switch kind {
        case .authenticationUnavailable:
            SMTPFailureClass(permanent: true, scope: .account)
        case .authenticationFailed:
            SMTPFailureClass(permanent: false, scope: .account)
        case .connectionLost, .timeout, .greetingRefused, .tlsUnavailable, .tlsFailed, .serviceClosing, .protocolError:
            SMTPFailureClass(permanent: false, scope: .connection)
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
