// Message-ID, In-Reply-To and References values (RFC 5322 msg-id lists) as
// bare ids without angle brackets. Tolerant of comments, phrases ("message
// from X of DATE <id>") and missing brackets (then whitespace-separated words
// holding "@" count). Ids are cut to 250 characters; lists keep 100 ids.
// Control characters and spaces never survive (they cannot be in an id).

public enum MessageIDs {
    public static let maxLength = 250
    public static let maxCount = 100

    /// Every id in a msg-id list value, in order, without brackets, duplicates removed.
    public static func list(_ value: String) -> [String] {
        var ids: [String] = []
        var seen = Set<String>()
        func add(_ candidate: Substring) {
            guard let id = clean(candidate), seen.insert(id).inserted else { return }
            ids.append(id)
        }
        var bracketed = false
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: ">") else { break }
            bracketed = true
            add(after[..<close])
            rest = after[after.index(after: close)...]
        }
        if !bracketed {
            for word in value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0.isNewline || $0 == "," })
            where word.contains("@") {
                add(word)
            }
        }
        // Keep the newest ids when a References list is over-long (they are the nearest ancestors).
        return ids.count > maxCount ? Array(ids.suffix(maxCount)) : ids
    }

    /// The first id of a value (Message-ID, In-Reply-To).
    public static func first(_ value: String) -> String? { list(value).first }

    /// "<a@b>", "a@b" or " <a@b> " -> "a@b"; nil when empty or unusable.
    public static func clean<S: StringProtocol>(_ raw: S) -> String? {
        var out = ""
        for scalar in raw.unicodeScalars {
            if scalar == "<" || scalar == ">" || scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F {
                continue
            }
            out.unicodeScalars.append(scalar)
            if out.unicodeScalars.count >= maxLength { break }
        }
        return out.isEmpty ? nil : out
    }
}
