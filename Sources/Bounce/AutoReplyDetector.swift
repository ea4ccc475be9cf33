// Auto-replies (RFC 3834 Auto-Submitted: auto-replied, X-Autoreply,
// X-Autorespond, Precedence: auto_reply, vacation/out-of-office subjects).
// They are not bounces: one result for the auto-replying address with
// reason "vacation". Callers check for bounces first, since DSNs are also
// marked auto-replied.
import MIME

enum AutoReplyDetector {
    static func isAutoReply(_ view: MessageView) -> Bool {
        let headers = view.headers
        if let value = headers["Auto-Submitted"]?.lowercased(), value.hasPrefix("auto-replied") { return true }
        if headers.contains("X-Autoreply") || headers.contains("X-Autorespond") || headers.contains("X-Autoresponse") {
            return true
        }
        if let precedence = headers["Precedence"]?.lowercased(), precedence.contains("auto_reply") { return true }
        let subject = view.subject.lowercased()
        let phrases = ["out of office", "out of the office", "automatic reply", "auto reply", "autoreply", "auto-reply",
                       "auto:", "vacation", "away from", "abwesenheit", "réponse automatique", "absence",
                       "autosvar", "automatisch antwoord", "risposta automatica", "respuesta automática"]
        return phrases.contains { subject.contains($0) }
    }

    static func extract(_ view: MessageView) -> [RecipientResult] {
        guard let from = view.fromAddresses.first else { return [] }
        let text = TextScanner.collapse(view.noticeText)
        return [RecipientResult(recipient: from, status: nil, action: nil, kind: nil, reason: .vacation,
                                diagnostic: text.isEmpty ? nil : String(text.prefix(1_000)))]
    }
}
