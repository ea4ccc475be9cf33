// What the classifiers look at in a parsed message: the human-readable
// notice (text parts up to the returned original, cut at "original message
// follows"-style markers, mail quoting removed) and the original message's
// headers (from an attached message/rfc822, text/rfc822-headers, or the text
// after the marker). Pure; every piece may be empty on odd input.
import Foundation
import MIME

struct MessageView {
    let message: MIMEMessage
    let headers: Headers
    let subject: String
    let fromAddresses: [String]
    let toAddresses: [String]
    let noticeText: String
    let noticeLines: [String]
    /// All top-level text, including what follows the original-message marker.
    let fullText: String
    let originalHeaders: Headers?

    init(_ message: MIMEMessage) {
        self.message = message
        headers = message.headers
        subject = headers.first("Subject")?.decodedValue ?? ""
        fromAddresses = Self.addresses(headers, ["From", "Sender"])
        toAddresses = Self.addresses(headers, ["To"])
        let (text, embeddedHeaders) = Self.collectText(message.root)
        fullText = text
        let cut = Self.cutAtOriginal(text)
        noticeText = cut.notice
        noticeLines = cut.notice.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).map(String.init)
        if let embeddedHeaders {
            originalHeaders = embeddedHeaders
        } else if let rest = cut.original {
            let trimmed = rest.drop { $0 == "\n" || $0 == "\r" || $0 == " " || $0 == "\t" }
            let parsed = MIMEParser.parse(Array(trimmed.utf8)).headers
            originalHeaders = parsed.fields.count >= 2 ? parsed : nil
        } else {
            originalHeaders = nil
        }
    }

    static func addresses(_ headers: Headers?, _ names: [String]) -> [String] {
        guard let headers else { return [] }
        return names.flatMap { name in headers.all(name).flatMap { AddressList.parse($0.rawValue).map { $0.address.lowercased() } } }
    }

    /// Recipients the original message was addressed to.
    var originalRecipients: [String] { Self.addresses(originalHeaders, ["To", "Cc"]) }
    /// The original sender's own addresses, never a failed recipient.
    var originalSenders: [String] { Self.addresses(originalHeaders, ["From", "Sender", "Return-Path", "Reply-To"]) }

    /// Text parts of the top-level message in order, stopping at the returned original.
    private static func collectText(_ root: MIMEPart) -> (String, Headers?) {
        var pieces: [String] = []
        var original: Headers?
        let parts = root.ownParts
        let hasPlain = parts.contains { $0.contentType.mimeType == "text/plain" }
        for part in parts {
            if let embedded = part.embedded {
                if original == nil { original = embedded.root.headers }
                continue
            }
            if part.contentType.isMultipart {
                if part.children.isEmpty { pieces.append(Charset.decode(part.rawBody, charset: nil)) }
                continue
            }
            if part.deliveryStatus != nil { continue }
            switch part.contentType.mimeType {
            case "text/plain", "text/enriched": pieces.append(part.text)
            case "text/html": if !hasPlain { pieces.append(stripHTML(part.text)) }
            default:
                if part.contentType.type == "text" { pieces.append(part.text) }
            }
        }
        return (pieces.joined(separator: "\n"), original)
    }

    static func stripHTML(_ html: String) -> String {
        var out = ""
        var inTag = false
        var tagName = ""
        var tagNameDone = false
        for character in html {
            if character == "<" { inTag = true; tagName = ""; tagNameDone = false; continue }
            if inTag {
                if character == ">" {
                    inTag = false
                    let name = tagName.lowercased()
                    if ["br", "br/", "p", "/p", "div", "/div", "tr", "/tr", "li", "/li"].contains(name) { out.append("\n") }
                } else if !tagNameDone {
                    if character == " " { tagNameDone = true } else { tagName.append(character) }
                }
                continue
            }
            out.append(character)
        }
        return out.replacingOccurrences(of: "&nbsp;", with: " ").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Splits text at the first line announcing the returned message; mail quoting ("> ") is removed.
    static func cutAtOriginal(_ text: String) -> (notice: String, original: String?) {
        var notice: [String] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, rawLine) in lines.enumerated() {
            var line = String(rawLine)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.hasPrefix("> ") { line.removeFirst(2) } else if line == ">" { line = "" }
            if isOriginalMarker(line) {
                return (notice.joined(separator: "\n"), lines[(index + 1)...].map { stripQuote(String($0)) }.joined(separator: "\n"))
            }
            if isHeaderStart(line), notice.count > 0 {
                return (notice.joined(separator: "\n"), lines[index...].map { stripQuote(String($0)) }.joined(separator: "\n"))
            }
            notice.append(line)
        }
        return (notice.joined(separator: "\n"), nil)
    }

    private static func stripQuote(_ line: String) -> String {
        var line = line
        if line.hasSuffix("\r") { line.removeLast() }
        if line.hasPrefix("> ") { line.removeFirst(2) } else if line == ">" { line = "" }
        return line
    }

    static func isOriginalMarker(_ line: String) -> Bool {
        let lower = line.lowercased().trimmingCharacters(in: .whitespaces)
        guard !lower.isEmpty else { return false }
        let topics = ["original message", "copy of the message", "copy of your message", "returned message",
                      "unsent message", "message header", "original mail", "headers of the original",
                      "header of the original", "copy of the original", "message text follows", "original e-mail",
                      "undelivered message", "message headers follow", "original text"]
        guard topics.contains(where: { lower.contains($0) }) else { return false }
        let decorated = lower.hasPrefix("-") || lower.hasPrefix("=") || lower.hasPrefix("*") || lower.hasPrefix("_")
        let announcing = lower.contains("follow") || lower.contains("below") || lower.contains("is a copy")
            || lower.contains("included") || lower.contains("attached")
        return decorated || (announcing && lower.count <= 64 && !lower.contains("you"))
    }

    private static func isHeaderStart(_ line: String) -> Bool {
        let lower = line.lowercased()
        return ["received:", "return-path:", "dkim-signature:", "authentication-results:", "arc-seal:",
                "x-received:", "domainkey-signature:"].contains { lower.hasPrefix($0) }
    }
}
