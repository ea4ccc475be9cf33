// The human-readable first part of a composed DSN: what happened, said plainly
// for each kind of outcome present, then one block per recipient (outcome,
// status, the remote server's answer, dates), then the references that match
// the notice to the message sent (Message-ID, queue id, envelope id).
// Lines are wrapped at 76 octets; values arrive cleaned of controls.

enum DSNNotice {
    static func text(_ facts: DSNComposer.Facts) -> [UInt8] {
        var out: [UInt8] = []
        out += DSNEncoding.paragraph("This is the mail system at host \(facts.host).")
        out += DSNEncoding.crlf
        let actions = Set(facts.recipients.map(\.action))
        for action in [DeliveryAction.failed, .delayed, .delivered, .relayed, .expanded] where actions.contains(action) {
            out += DSNEncoding.paragraph(summary(action))
            out += DSNEncoding.crlf
        }
        for recipient in facts.recipients {
            out += block(recipient, facts)
            out += DSNEncoding.crlf
        }
        out += DSNEncoding.paragraph("For reference, your message:")
        if let id = facts.originalID { out += DSNEncoding.paragraph("Message-ID: \(id)", indent: 4) }
        if !facts.queueID.isEmpty { out += DSNEncoding.paragraph(Array("Queue ID: ".utf8) + facts.queueID, indent: 4) }
        if let envelopeID = facts.report.envelopeID {
            let cleaned = DSNEncoding.clean(envelopeID, utf8: facts.global, limit: 300)
            if !cleaned.isEmpty { out += DSNEncoding.paragraph(Array("Envelope ID: ".utf8) + cleaned, indent: 4) }
        }
        if let arrival = facts.report.arrivalDate {
            out += DSNEncoding.paragraph("Accepted: \(DSNEncoding.date(arrival))", indent: 4)
        }
        return out
    }

    static func summary(_ action: DeliveryAction) -> String {
        switch action {
        case .failed:
            return "Your message could not be delivered to the recipients marked FAILED below. "
                + "Delivery to them failed for good; it will not be tried again."
        case .delayed:
            return "Your message has not yet been delivered to the recipients marked DELAYED below. "
                + "Delivery is still being retried; you do not need to send it again. "
                + "You will be told if it finally fails."
        case .delivered:
            return "Your message was delivered to the recipients marked DELIVERED below."
        case .relayed:
            return "Your message was passed on for the recipients marked RELAYED below, to a server that does "
                + "not send delivery reports. No further report will come for them."
        case .expanded:
            return "Your message was delivered to the recipients marked EXPANDED below, and their mail system "
                + "forwarded it on to further addresses."
        }
    }

    static func block(_ recipient: DSNRecipientReport, _ facts: DSNComposer.Facts) -> [UInt8] {
        let address = DSNComposer.address(recipient.finalRecipient, utf8: facts.global)
        let status = DSNComposer.status(recipient)
        var out = DSNEncoding.paragraph([UInt8(ascii: "<")] + address + Array(">: \(label(recipient.action))".utf8))
        out += DSNEncoding.paragraph("Status: \(status) (\(meaning(status)))", indent: 4)
        let remote = DSNComposer.remoteMTA(recipient)
        let diagnostic = DSNEncoding.clean(recipient.diagnostic ?? "", utf8: facts.global, limit: DSNEncoding.diagnosticLimit)
        if !diagnostic.isEmpty {
            let who = remote.map { Array("The server ".utf8) + $0 + Array(" answered: ".utf8) } ?? Array("The answer was: ".utf8)
            out += DSNEncoding.paragraph(who + diagnostic, indent: 4)
        } else if let remote {
            out += DSNEncoding.paragraph(Array("Server: ".utf8) + remote, indent: 4)
        }
        if let last = recipient.lastAttemptDate {
            out += DSNEncoding.paragraph("Last attempt: \(DSNEncoding.date(last))", indent: 4)
        }
        if recipient.action == .delayed, let until = recipient.willRetryUntil {
            out += DSNEncoding.paragraph("Retrying until: \(DSNEncoding.date(until))", indent: 4)
        }
        return out
    }

    static func label(_ action: DeliveryAction) -> String {
        switch action {
        case .failed: return "FAILED"
        case .delayed: return "DELAYED"
        case .delivered: return "DELIVERED"
        case .relayed: return "RELAYED"
        case .expanded: return "EXPANDED"
        }
    }

    static func meaning(_ status: String) -> String {
        switch status.first {
        case "5": return "permanent failure"
        case "4": return "temporary failure"
        default: return "success"
        }
    }
}
