// RFC 5965 feedback reports (multipart/report; report-type=feedback-report,
// or any message/feedback-report part, or Microsoft JMRP): one complaint per Original-Rcpt-To,
// else per Removal-Recipient, else per recipient of the returned message.
// Complaints are not bounces: reason "feedback", no kind, no status.
import MIME

enum FeedbackExtractor {
    static func isFeedback(_ view: MessageView) -> Bool {
        let root = view.message.root
        if root.contentType.mimeType == "multipart/report",
           root.contentType.parameters["report-type"]?.lowercased() == "feedback-report" { return true }
        if root.ownParts.contains(where: { $0.contentType.mimeType == "message/feedback-report" }) { return true }
        // Microsoft JMRP: the complained-about message attached with X-HmXmrOriginalRecipient.
        return view.originalHeaders?.contains("X-HmXmrOriginalRecipient") == true
    }

    static func extract(_ view: MessageView) -> [RecipientResult] {
        let report = view.message.root.ownParts.first { $0.contentType.mimeType == "message/feedback-report" }
        let fields = report.map { HeaderBlockReader.fields(of: $0.body) } ?? Headers()
        var recipients: [String] = []
        for name in ["Original-Rcpt-To", "Removal-Recipient"] where recipients.isEmpty {
            recipients = fields.all(name).flatMap { field in
                AddressList.parse(field.rawValue).map { $0.address.lowercased() }.filter { $0.contains("@") }
            }
        }
        if recipients.isEmpty, let original = view.originalHeaders {
            recipients = MessageView.addresses(original, ["X-HmXmrOriginalRecipient"])
        }
        if recipients.isEmpty { recipients = view.originalRecipients }
        var seen = Set<String>()
        recipients = recipients.filter { seen.insert($0).inserted }
        let diagnostic = TextScanner.collapse(view.noticeText)
        return recipients.map {
            RecipientResult(recipient: $0, status: nil, action: nil, kind: nil, reason: .feedback,
                            diagnostic: diagnostic.isEmpty ? nil : diagnostic)
        }
    }
}

enum HeaderBlockReader {
    /// Fields of a "Name: value" block such as a feedback report body.
    static func fields(of body: [UInt8]) -> Headers {
        MIMEParser.parse(body).headers
    }
}
