// Entry point: raw message bytes -> BounceReport. Sources of truth in order:
// Amazon SES JSON, RFC 5965 feedback reports, RFC 3464 delivery-status parts,
// then the text heuristics for non-standard bounces; auto-replies are told
// apart before the text heuristics. Also extracts the original Message-ID and
// our X-Mailgate-Queue-ID from the returned message. Pure and total.
import MIME

public enum BounceClassifier {
    public static func classify(_ bytes: [UInt8]) -> BounceReport {
        let message = MIMEParser.parse(bytes)
        let view = MessageView(message)
        var report = classifyView(view)
        report.originalMessageID = originalField("Message-ID", view)
        report.queueID = originalField("X-Mailgate-Queue-ID", view)
        return report
    }

    static func classifyView(_ view: MessageView) -> BounceReport {
        if let (type, recipients) = AmazonSES.extract(view) {
            return BounceReport(type: recipients.isEmpty && type == .bounce ? .notABounce : type,
                                recipients: recipients, originalMessageID: nil, queueID: nil)
        }
        if FeedbackExtractor.isFeedback(view) {
            return BounceReport(type: .feedback, recipients: FeedbackExtractor.extract(view), originalMessageID: nil, queueID: nil)
        }
        if let recipients = DSNExtractor.extract(view), !recipients.isEmpty {
            let failing = recipients.contains { $0.action == .failed || $0.action == .delayed || $0.action == nil }
            if failing {
                return BounceReport(type: .bounce, recipients: recipients.filter { $0.action != .delivered && $0.action != .relayed && $0.action != .expanded },
                                    originalMessageID: nil, queueID: nil)
            }
            return BounceReport(type: .deliveryReceipt, recipients: recipients, originalMessageID: nil, queueID: nil)
        }
        if let receipt = readReceipt(view) {
            return BounceReport(type: .deliveryReceipt, recipients: receipt, originalMessageID: nil, queueID: nil)
        }
        let looksLikeBounce = BounceSignals.looksLikeBounce(view)
        if !looksLikeBounce, AutoReplyDetector.isAutoReply(view) {
            return BounceReport(type: .autoReply, recipients: AutoReplyDetector.extract(view), originalMessageID: nil, queueID: nil)
        }
        guard looksLikeBounce else { return .none }
        let recipients = TextBounceExtractor.extract(view)
        guard !recipients.isEmpty else { return .none }
        return BounceReport(type: .bounce, recipients: recipients, originalMessageID: nil, queueID: nil)
    }

    /// RFC 8098 message disposition notifications (read receipts): not bounces.
    private static func readReceipt(_ view: MessageView) -> [RecipientResult]? {
        guard let part = view.message.root.ownParts.first(where: {
            $0.contentType.mimeType == "message/disposition-notification"
                || $0.contentType.mimeType == "message/global-disposition-notification"
        }) else { return nil }
        let fields = HeaderBlockReader.fields(of: part.body)
        let recipient = fields["Final-Recipient"].map { DeliveryStatus.typedValue($0).value }
            .flatMap { TextScanner.addresses(in: $0).first?.address } ?? view.fromAddresses.first
        guard let recipient else { return [] }
        return [RecipientResult(recipient: recipient, status: nil, action: nil, kind: nil, reason: .delivered,
                                diagnostic: fields["Disposition"])]
    }

    private static func originalField(_ name: String, _ view: MessageView) -> String? {
        guard let value = view.originalHeaders?[name] else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }
}

/// Signals that a message without a delivery-status part is a non-delivery notice.
enum BounceSignals {
    static func looksLikeBounce(_ view: MessageView) -> Bool {
        if view.headers.contains("X-Failed-Recipients") { return true }
        let from = (view.headers["From"] ?? "").lowercased()
        let daemon = ["mailer-daemon", "postmaster", "mail delivery", "mail-daemon", "maildelivery", "mailerdaemon",
                      "post_master", "mail administrator", "system administrator", "no-reply", "noreply", "bounce"]
            .contains { from.contains($0) }
        let subject = view.subject.lowercased()
        let subjectSays = ["undeliver", "undelivered", "delivery status", "delivery fail", "delivery notification",
                           "failure notice", "returned mail", "mail delivery failed", "delivery failure",
                           "non-delivery", "nondelivery", "non delivery", "could not be delivered", "returned to sender",
                           "mail system error", "not delivered", "delivery problem", "delayed mail", "delivery delayed",
                           "failed delivery", "mail failure", "returned message", "error", "warning", "message delivery",
                           "delivery report"].contains { subject.contains($0) }
        let notice = view.noticeText.lowercased()
        let bodySays = ["could not be delivered", "couldn't be delivered", "was not delivered", "wasn't delivered",
                        "unable to deliver", "not able to deliver", "delivery failed", "delivery has failed",
                        "failed permanently", "did not reach", "permanent error", "permanent fatal error",
                        "transcript of session", "qmail-send program", "mail delivery software", "undeliverable",
                        "delivery to the following recipient", "the following address", "following recipients",
                        "rejected by", "not be delivered", "could not deliver", "delivery problems",
                        "delivery errors", "has been delayed", "failed to deliver", "was rejected"].contains { notice.contains($0) }
        return daemon || subjectSays ? (bodySays || daemon || view.headers["Return-Path"]?.contains("<>") == true || subjectSays) : bodySays
    }
}
