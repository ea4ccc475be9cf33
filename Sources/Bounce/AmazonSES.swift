// Amazon SES notifications delivered by e-mail (an SNS envelope whose
// "Message" holds the SES JSON, or the bare SES JSON): Bounce notifications
// become failed/delayed recipients, Complaint notifications feedback.
// JSON is read with Foundation's JSONSerialization; anything unexpected
// yields nil so the text heuristics can still try.
import Foundation

enum AmazonSES {
    static func extract(_ view: MessageView) -> (ReportType, [RecipientResult])? {
        let body = view.noticeText
        guard body.contains("notificationType"), let object = parse(body) else { return nil }
        var notification = object
        if let inner = object["Message"] as? String, let parsed = parse(inner) { notification = parsed }
        guard let type = notification["notificationType"] as? String ?? notification["eventType"] as? String else { return nil }
        switch type {
        case "Bounce":
            guard let bounce = notification["bounce"] as? [String: Any],
                  let list = bounce["bouncedRecipients"] as? [[String: Any]] else { return nil }
            let transient = (bounce["bounceType"] as? String) == "Transient"
            let results: [RecipientResult] = list.compactMap { entry in
                guard let address = (entry["emailAddress"] as? String).flatMap({ TextScanner.addresses(in: $0).first?.address })
                else { return nil }
                let diagnostic = (entry["diagnosticCode"] as? String).map(TextScanner.collapse)
                let declared = (entry["status"] as? String).flatMap(StatusCode.init)?.text
                let status = declared ?? diagnostic.flatMap { TextScanner.statusCodes(in: $0).first }
                let action = (entry["action"] as? String).flatMap(DeliveryAction.parse) ?? (transient ? .delayed : .failed)
                var text = diagnostic ?? ""
                if text.isEmpty, let subType = bounce["bounceSubType"] as? String { text = subType }
                let reason = ReasonRules.reason(status: status, diagnostic: text, action: action)
                return RecipientResult(recipient: address, status: status, action: action,
                                       kind: ReasonRules.kind(for: reason, status: status), reason: reason,
                                       diagnostic: diagnostic)
            }
            return (.bounce, results)
        case "Complaint":
            guard let complaint = notification["complaint"] as? [String: Any],
                  let list = complaint["complainedRecipients"] as? [[String: Any]] else { return nil }
            let results: [RecipientResult] = list.compactMap { entry in
                guard let address = (entry["emailAddress"] as? String).flatMap({ TextScanner.addresses(in: $0).first?.address })
                else { return nil }
                return RecipientResult(recipient: address, status: nil, action: nil, kind: nil, reason: .feedback,
                                       diagnostic: complaint["complaintFeedbackType"] as? String)
            }
            return (.feedback, results)
        case "Delivery":
            return (.deliveryReceipt, [])
        default:
            return nil
        }
    }

    private static func parse(_ text: String) -> [String: Any]? {
        guard let start = text.firstIndex(of: "{"), let end = text.lastIndex(of: "}"), start < end else { return nil }
        // MTAs split lines over 990 octets as "!" CRLF SP (Sendmail); undo that inside the JSON.
        let joined = String(text[start...end]).replacingOccurrences(of: "!\r\n ", with: "")
            .replacingOccurrences(of: "!\n ", with: "")
        let json = Data(joined.utf8)
        return (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
    }
}
