// The plain-text preview of a message: its first text/plain body part (not an
// attachment), else its first text/html part with tags, comments, script and
// style removed and entities decoded. Quoted lines ("> ...") and whitespace
// runs are dropped; the result is cut at `maxCharacters`. Only the first
// `maxInput` characters of a body are looked at, so a huge part costs little.
import MIME

public enum Snippet {
    public static let maxCharacters = 200
    static let maxInput = 64 * 1024

    /// The snippet of a parsed message; "" when it has no readable text.
    public static func of(_ message: MIMEMessage) -> String {
        let parts = message.root.ownParts.filter { !$0.contentType.isMultipart && !Attachments.isAttachment($0) }
        if let plain = parts.first(where: { $0.contentType.mimeType == "text/plain" }) {
            return fromPlainText(String(plain.text.prefix(maxInput)))
        }
        if let html = parts.first(where: { $0.contentType.mimeType == "text/html" }) {
            return fromPlainText(stripHTML(String(html.text.prefix(maxInput))))
        }
        return ""
    }

    /// Non-quoted lines joined with single spaces, cut at `maxCharacters`.
    public static func fromPlainText(_ text: String) -> String {
        var out = ""
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.hasPrefix(">") { continue }
            let collapsed = SubjectNormaliser.collapse(String(trimmed))
            guard !collapsed.isEmpty else { continue }
            if !out.isEmpty { out.append(" ") }
            out += collapsed
            if out.count >= maxCharacters { break }
        }
        return String(out.prefix(maxCharacters))
    }

    /// HTML to text: tags become breaks or nothing, script/style/head contents and comments vanish.
    public static func stripHTML(_ html: String) -> String {
        var out = ""
        var index = html.startIndex
        var skipUntil: String?
        while index < html.endIndex {
            let character = html[index]
            if let closing = skipUntil {
                if character == "<", html[index...].prefix(closing.count).lowercased() == closing {
                    skipUntil = nil
                    index = html[index...].firstIndex(of: ">").map { html.index(after: $0) } ?? html.endIndex
                    continue
                }
                index = html.index(after: index)
                continue
            }
            if character == "<" {
                let rest = html[index...]
                if rest.hasPrefix("<!--") {
                    index = rest.range(of: "-->")?.upperBound ?? html.endIndex
                    continue
                }
                guard let close = rest.firstIndex(of: ">") else { break }
                let tag = rest[rest.index(after: index)..<close].lowercased()
                let name = tag.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "/" }).first
                    .map(String.init) ?? ""
                if ["script", "style", "head", "title"].contains(name), !tag.hasPrefix("/") {
                    skipUntil = "</\(name)"
                } else if ["br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"].contains(name) {
                    out.append("\n")
                }
                index = html.index(after: close)
                continue
            }
            if character == "&", let (decoded, next) = entity(html, at: index) {
                out.append(decoded)
                index = next
                continue
            }
            out.append(character)
            index = html.index(after: index)
        }
        return out
    }

    static let namedEntities: [String: Character] = [
        "nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "#39": "'", "copy": "©",
        "reg": "®", "hellip": "…", "mdash": "—", "ndash": "–", "laquo": "«", "raquo": "»", "euro": "€",
        "rsquo": "’", "lsquo": "‘", "ldquo": "“", "rdquo": "”", "zwnj": "\u{200C}",
    ]

    /// "&amp;", "&#233;", "&#xE9;" at `index`: the character and where the text goes on.
    private static func entity(_ html: String, at index: String.Index) -> (Character, String.Index)? {
        let rest = html[html.index(after: index)...].prefix(12)
        guard let semicolon = rest.firstIndex(of: ";") else { return nil }
        let name = rest[..<semicolon].lowercased()
        let next = html.index(after: semicolon)
        if let named = namedEntities[name] { return (named, next) }
        guard name.hasPrefix("#") else { return nil }
        let digits = name.dropFirst()
        let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
        guard let value, let scalar = Unicode.Scalar(value), value >= 0x20 else { return nil }
        return (Character(scalar), next)
    }
}
