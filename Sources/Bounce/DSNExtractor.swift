// RFC 3464 delivery status notifications: one result per recipient group of
// the first message/delivery-status (or message/global-delivery-status) part.
// Status comes from the Status field, refined by a more specific code in the
// Diagnostic-Code; the reason from status and diagnostic, then from the
// human-readable notice lines that mention the recipient.
import MIME

enum DSNExtractor {
    static func extract(_ view: MessageView) -> [RecipientResult]? {
        let ownStatus = view.message.root.ownParts.first { $0.deliveryStatus != nil }?.deliveryStatus
        guard let status = ownStatus ?? view.message.root.allParts.first(where: { $0.deliveryStatus != nil })?.deliveryStatus
            ?? inlineStatus(view)
        else { return nil }
        var results: [RecipientResult] = []
        var seen = Set<String>()
        for group in status.recipients {
            guard let recipient = recipientAddress(group), !seen.contains(recipient) else { continue }
            seen.insert(recipient)
            let action = group["Action"].flatMap(DeliveryAction.parse)
            let diagnostic = group.first("Diagnostic-Code").map { DeliveryStatus.typedValue($0.value).value }
                .map(TextScanner.collapse) ?? ""
            let notice = TextBounceExtractor.block(for: recipient, in: view.noticeLines)
            let code = chooseStatus(field: group["Status"], diagnostic: diagnostic, notice: notice)
            var reasonText = diagnostic
            if ReasonRules.textReason(diagnostic) == nil, !notice.isEmpty { reasonText += " " + notice }
            let reason = ReasonRules.reason(status: code, diagnostic: reasonText, action: action,
                                            context: status.recipients.count == 1 ? view.noticeText : "")
            results.append(RecipientResult(
                recipient: recipient, status: code, action: action ?? inferredAction(code),
                kind: ReasonRules.kind(for: reason, status: code), reason: reason,
                diagnostic: diagnostic.isEmpty ? (notice.isEmpty ? nil : notice) : diagnostic))
        }
        return results
    }

    /// DSN fields pasted into a plain-text body (forwarded or MIME-less notices).
    static func inlineStatus(_ view: MessageView) -> DeliveryStatus? {
        let lines = view.fullText.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" })
        guard let start = lines.firstIndex(where: { $0.lowercased().hasPrefix("final-recipient:") }) else { return nil }
        var groupStart = start
        while groupStart > 0, !lines[groupStart - 1].trimmingCharacters(in: .whitespaces).isEmpty { groupStart -= 1 }
        let text = lines[groupStart...].joined(separator: "\n")
        let status = DeliveryStatus.parse(Array(text.utf8)[...])
        return status.recipients.isEmpty ? nil : status
    }

    static func recipientAddress(_ group: Headers) -> String? {
        for name in ["Final-Recipient", "Original-Recipient", "X-Actual-Recipient"] {
            guard let field = group.first(name) else { continue }
            let value = DeliveryStatus.typedValue(field.value).value
            let parsed = AddressList.parse(value).first(where: { $0.address.contains("@") })?.address.lowercased()
            if let parsed, parsed.hasPrefix("\"") { return parsed }
            if let scanned = TextScanner.addresses(in: value).first { return scanned.address }
            if let parsed { return parsed }
        }
        return nil
    }

    /// The code the remote server gave in the diagnostic (when specific and of the same class) over the
    /// reporting MTA's Status field, which often translates it badly; reply code class as a last resort.
    static func chooseStatus(field: String?, diagnostic: String, notice: String) -> String? {
        let declared = field.flatMap { TextScanner.statusCodes(in: $0).first }.flatMap(StatusCode.init)
        func specific(_ text: String) -> StatusCode? {
            TextScanner.statusCodes(in: text).compactMap(StatusCode.init)
                .first { $0.klass != 2 && !$0.isGeneric && (declared == nil || $0.klass == declared?.klass) }
        }
        if let fromDiagnostic = specific(diagnostic) { return fromDiagnostic.text }
        if let declared, !declared.isGeneric { return declared.text }
        if let fromNotice = specific(notice) { return fromNotice.text }
        if let declared { return declared.text }
        if let reply = TextScanner.replyCode(in: diagnostic) { return "\(reply / 100).0.0" }
        return nil
    }

    static func inferredAction(_ status: String?) -> DeliveryAction? {
        switch status?.first {
        case "5": return .failed
        case "4": return .delayed
        case "2": return .delivered
        default: return nil
        }
    }
}
