// Subjects reduced to what a conversation shares: reply and forward prefixes
// in many languages (Re:, Fwd:, Fw:, AW:, WG:, RES:, SV:, Antw:, TR:, RIF:,
// VS:, Odp:, also "Re[2]:", "RE :" and the full-width colon) and [list tags]
// are stripped however often and in whatever order they repeat; whitespace is
// collapsed and the result lower-cased for comparison. Limit: prefixes only.

public struct NormalisedSubject: Sendable, Equatable {
    /// Lower-cased, prefixes and leading tags removed, whitespace collapsed; "" when nothing is left.
    public var text: String
    /// Whether a reply or forward prefix was removed: the message says it continues a conversation.
    public var hadReplyPrefix: Bool

    public init(text: String, hadReplyPrefix: Bool) {
        self.text = text
        self.hadReplyPrefix = hadReplyPrefix
    }
}

public enum SubjectNormaliser {
    /// Reply and forward markers, lower-cased, as they appear before the colon.
    static let prefixes: Set<String> = [
        "re", "fwd", "fw", "aw", "wg", "res", "sv", "antw", "tr", "rif", "vs", "vb", "odp", "ynt", "enc", "rv",
        "fwd.", "antwort", "doorst", "trs", "ref", "réf", "回复", "回覆", "转发", "轉寄", "답장", "전달",
    ]
    /// Subjects longer than this are cut before normalising (a hostile header may be megabytes).
    static let maxLength = 1_000

    public static func normalise(_ subject: String) -> NormalisedSubject {
        var rest = Substring(collapse(String(subject.prefix(maxLength))))
        var hadPrefix = false
        var changed = true
        while changed {
            changed = false
            rest = rest.drop(while: { $0 == " " })
            if rest.first == "[", let close = rest.firstIndex(of: "]") {
                let tag = rest[rest.index(after: rest.startIndex)..<close]
                // "[list] topic" is a tag; a subject that is only "[something]" keeps it.
                if !tag.isEmpty, !rest[rest.index(after: close)...].allSatisfy({ $0 == " " }) {
                    rest = rest[rest.index(after: close)...]
                    changed = true
                    continue
                }
            }
            if let after = afterPrefix(rest) {
                rest = after
                hadPrefix = true
                changed = true
            }
        }
        return NormalisedSubject(text: collapse(String(rest)).lowercased(), hadReplyPrefix: hadPrefix)
    }

    /// The text after one "word[n]:" / "word(n):" / "word :" prefix, when the word is a known marker.
    private static func afterPrefix(_ text: Substring) -> Substring? {
        var word = ""
        var index = text.startIndex
        while index < text.endIndex, text[index].isLetter || text[index] == ".", word.count < 12 {
            word.append(text[index])
            index = text.index(after: index)
        }
        guard !word.isEmpty, prefixes.contains(word.lowercased()) else { return nil }
        // Optional counter: "Re[2]:", "Re(3):", "Re^2:".
        if index < text.endIndex, text[index] == "[" || text[index] == "(" || text[index] == "^" {
            let close: Character = text[index] == "[" ? "]" : (text[index] == "(" ? ")" : ":")
            var probe = text.index(after: index)
            var digits = 0
            while probe < text.endIndex, text[probe].isNumber, digits < 6 {
                digits += 1
                probe = text.index(after: probe)
            }
            guard digits > 0, probe < text.endIndex else { return nil }
            if close != ":" {
                guard text[probe] == close else { return nil }
                probe = text.index(after: probe)
            }
            index = probe
        }
        while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
        guard index < text.endIndex, text[index] == ":" || text[index] == "：" else { return nil }
        return text[text.index(after: index)...]
    }

    /// Runs of whitespace and control characters become one space; the ends are trimmed.
    static func collapse(_ text: String) -> String {
        var out = ""
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.unicodeScalars.append(scalar)
        }
        return out
    }
}
