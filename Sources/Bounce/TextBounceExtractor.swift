// Bounces without a delivery-status part (qmail, Exim, old Sendmail, Exchange,
// Gmail, Yahoo, Courier, Postfix without DSN, Japanese carriers...). Rather
// than one parser per MTA, it reads the notice the way all of them write it:
// failed addresses stand at the start of a line, after "to:"/"<<<"/">>>", or
// before "..."/":"; the lines that follow (or that repeat the address) hold
// the reply. Known sender addresses and header-like lines are discarded.

import Foundation

enum TextBounceExtractor {
    static let maxRecipients = 500

    static func extract(_ view: MessageView) -> [RecipientResult] {
        let lines = view.noticeLines
        // Bounded so a notice listing thousands of addresses stays linear enough.
        let recipients = Array(findRecipients(view).prefix(maxRecipients))
        guard !recipients.isEmpty else { return [] }
        let wholeNotice = TextScanner.collapse(view.noticeText)
        let delayed = isDelayNotice(view)
        return recipients.map { recipient in
            var block = block(for: recipient, in: lines)
            if recipients.count == 1, ReasonRules.textReason(block) == nil, TextScanner.statusCodes(in: block).isEmpty {
                block = block.isEmpty ? wholeNotice : block + " " + wholeNotice
            }
            let codes = TextScanner.statusCodes(in: block).compactMap(StatusCode.init).filter { $0.klass != 2 }
            var status = (codes.first { !$0.isGeneric } ?? codes.first)?.text
            let reply = TextScanner.replyCode(in: block)
            if status == nil, let reply { status = "\(reply / 100).0.0" }
            let action: DeliveryAction = delayed ? .delayed : .failed
            let reason = ReasonRules.reason(status: status, diagnostic: block, action: action,
                                            context: recipients.count == 1 ? view.noticeText : "")
            return RecipientResult(recipient: recipient, status: status, action: action,
                                   kind: ReasonRules.kind(for: reason, status: status), reason: reason,
                                   diagnostic: diagnosticText(block))
        }
    }

    static func diagnosticText(_ block: String) -> String? {
        let text = TextScanner.collapse(block)
        return text.isEmpty ? nil : String(text.prefix(2_000))
    }

    static func isDelayNotice(_ view: MessageView) -> Bool {
        let text = (view.subject + " " + view.noticeText).lowercased()
        let permanent = ["permanent", "given up", "giving up", "gave up", "failed permanently", "will not be retried",
                         "not going to try again", "could not be delivered", "couldn't be delivered", "undeliverable",
                         "returned mail", "undelivered"]
        let temporary = ["delayed", "delay", "will keep trying", "will continue to try", "will retry",
                         "not yet been delivered", "temporary failure", "still trying", "warning:"]
        return temporary.contains { text.contains($0) } && !permanent.contains { text.contains($0) }
    }

    /// Failed recipients in order: addresses in recipient position in the notice (checked against
    /// X-Failed-Recipients when both exist), then weaker evidence.
    static func findRecipients(_ view: MessageView) -> [String] {
        let failedHeader = unique(view.headers.all("X-Failed-Recipients").flatMap { field in
            TextScanner.addresses(in: field.value).map(\.address)
        })
        let bounceParties = Set(view.fromAddresses + MessageView.addresses(view.headers, ["To", "Return-Path", "Reply-To"]))
        var strong: [String] = []
        var weak: [String] = []
        var headerLike: [String] = []
        for line in view.noticeLines {
            let found = TextScanner.addresses(in: line)
            guard !found.isEmpty else { continue }
            let lower = line.lowercased()
            for (address, offset) in found {
                if isHeaderLikeLine(lower) { headerLike.append(address); continue }
                if isRecipientPosition(line: line, lower: lower, address: address, offset: offset) {
                    strong.append(address)
                } else {
                    weak.append(address)
                }
            }
        }
        // The bounce's own parties and the original sender are only recipients when nothing else is.
        let senders = Set(view.originalSenders).union(bounceParties)
        func withoutSenders(_ pool: [String]) -> [String] {
            let filtered = pool.filter { !senders.contains($0) }
            return filtered.isEmpty ? pool : filtered
        }
        strong = unique(withoutSenders(strong))
        if !failedHeader.isEmpty {
            let named = strong.filter { !bounceParties.contains($0) }
            return named.isEmpty || named.contains(where: failedHeader.contains) ? failedHeader : named
        }
        if !strong.isEmpty { return strong }
        let originalTo = Set(view.originalRecipients)
        for pool in [weak, headerLike] {
            let addressed = pool.filter { originalTo.contains($0) }
            if !addressed.isEmpty { return unique(addressed) }
        }
        if view.originalRecipients.count == 1 { return view.originalRecipients }
        weak = weak.filter { !bounceParties.contains($0) }
        if !weak.isEmpty { return unique(withoutSenders(weak)) }
        return unique(headerLike.filter { !bounceParties.contains($0) })
    }

    static func isHeaderLikeLine(_ lower: String) -> Bool {
        let trimmed = lower.drop { $0 == " " || $0 == "\t" }
        return ["to:", "from:", "cc:", "bcc:", "reply-to:", "sender:", "subject:", "date:", "sent:", "message-id:",
                "return-path:", "received:", "envelope-from", "x-"].contains { trimmed.hasPrefix($0) }
    }

    /// Whether the address stands where MTAs put a failed recipient.
    static func isRecipientPosition(line: String, lower: String, address: String, offset: Int) -> Bool {
        let bytes = Array(line.utf8)
        let before = String(decoding: bytes[..<min(offset, bytes.count)], as: UTF8.self)
            .trimmingCharacters(in: CharacterSet(charactersIn: " \t<\"'*-•:(["))
        if before.isEmpty { return true }
        let lowerBefore = before.lowercased()
        let cues = ["to:", "to <", "to", "recipient", "rcpt", "address", "<<<", ">>>", "user", "mailbox", "for",
                    "delivering", "deliver", "delivery", "failed", "userid", "unknown", "error", "rejected",
                    "could not be delivered", "did not reach", "reach", "message", "original-recipient"]
        if cues.contains(where: { lowerBefore.hasSuffix($0) }) { return true }
        if TextScanner.replyCode(in: before) != nil || !TextScanner.statusCodes(in: before).isEmpty { return true }
        let afterStart = min(bytes.count, offset + address.utf8.count)
        let after = String(decoding: bytes[afterStart...], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: ">\"' "))
        if after.hasPrefix("...") || after.hasPrefix(":") { return true }
        _ = lower
        return false
    }

    /// Lines about one recipient: every line naming it plus the lines that follow, to a blank line or another recipient.
    static func block(for recipient: String, in lines: [String]) -> String {
        var collected: [String] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            guard line.lowercased().contains(recipient) else { index += 1; continue }
            collected.append(line)
            var next = index + 1
            var sawText = lineHasTextBeyond(line, recipient)
            while next < lines.count {
                let following = lines[next]
                let trimmed = following.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty {
                    if sawText { break }
                    next += 1
                    continue
                }
                let others = TextScanner.addresses(in: following).map(\.address).filter { $0 != recipient }
                if !others.isEmpty, following.lowercased().contains(recipient) == false,
                   isRecipientPosition(line: following, lower: following.lowercased(), address: others[0],
                                       offset: TextScanner.addresses(in: following)[0].offset),
                   !(following.hasPrefix(" ") || following.hasPrefix("\t")) || sawText {
                    break
                }
                if following.lowercased().contains(recipient) { break }
                // A new unindented reply line (Sendmail transcripts) belongs to another recipient or host.
                if sawText, let first = following.unicodeScalars.first, ("2"..."5").contains(first),
                   TextScanner.replyCode(in: String(following.prefix(4))) != nil { break }
                if MessageView.isOriginalMarker(following) { break }
                collected.append(following)
                sawText = true
                next += 1
                if collected.count > 40 { break }
            }
            index = next
        }
        return TextScanner.collapse(collected.joined(separator: "\n"))
    }

    private static func lineHasTextBeyond(_ line: String, _ recipient: String) -> Bool {
        let rest = line.lowercased().replacingOccurrences(of: recipient, with: "")
        return rest.unicodeScalars.filter { CharacterSet.letters.contains($0) }.count >= 8
    }

    static func unique(_ addresses: [String]) -> [String] {
        var seen = Set<String>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

