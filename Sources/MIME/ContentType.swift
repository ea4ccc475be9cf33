// Structured MIME header values: Content-Type and Content-Disposition with
// their parameters, including RFC 2231 continuations (name*0, name*1*) and
// charset'language'percent-encoded values, quoted strings and comments.
// Tolerant: missing semicolons, unquoted specials and junk are skipped.

public struct HeaderParameters: Sendable, Equatable {
    /// Lower-cased parameter names mapped to decoded values.
    public var values: [String: String]
    public subscript(name: String) -> String? { values[name.lowercased()] }
}

public struct ContentType: Sendable, Equatable {
    public var type: String
    public var subtype: String
    public var parameters: HeaderParameters

    public var mimeType: String { "\(type)/\(subtype)" }
    public var isMultipart: Bool { type == "multipart" }
    public var boundary: String? { parameters["boundary"] }
    public var charset: String? { parameters["charset"] }

    public static let textPlain = ContentType(type: "text", subtype: "plain", parameters: HeaderParameters(values: [:]))
    public static let messageRFC822 = ContentType(type: "message", subtype: "rfc822", parameters: HeaderParameters(values: [:]))

    /// Parses a Content-Type value; nil when there is no usable type/subtype.
    public static func parse(_ raw: [UInt8]) -> ContentType? {
        var (head, parameters) = ParameterParser.split(raw)
        // "multipart/mixed boundary=x" (no semicolon): the words after the type are parameters too.
        let words = head.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if words.count > 1, let first = words.first {
            let rest = words.dropFirst().joined(separator: ";")
            let (_, extra) = ParameterParser.split(Array(("x;" + rest).utf8))
            for (name, value) in extra.values where parameters.values[name] == nil { parameters.values[name] = value }
            head = String(first)
        }
        let pieces = head.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty else { return nil }
        return ContentType(type: pieces[0], subtype: pieces[1], parameters: parameters)
    }
}

public struct ContentDisposition: Sendable, Equatable {
    public var kind: String
    public var parameters: HeaderParameters

    public static func parse(_ raw: [UInt8]) -> ContentDisposition {
        let (head, parameters) = ParameterParser.split(raw)
        return ContentDisposition(kind: head.trimmingCharacters(in: .whitespaces).lowercased(), parameters: parameters)
    }
}

enum ParameterParser {
    /// Splits "value; a=b; c*=utf-8''x" into the leading value and decoded parameters.
    static func split(_ raw: [UInt8]) -> (String, HeaderParameters) {
        let segments = segmentsOutsideQuotes(raw)
        guard let first = segments.first else { return ("", HeaderParameters(values: [:])) }
        var simple: [String: String] = [:]
        var pieces: [String: [Int: (value: [UInt8], encoded: Bool)]] = [:]
        var extended: [String: [UInt8]] = [:]
        for segment in segments.dropFirst() {
            guard let equals = segment.firstIndex(of: ASCII.equals) else { continue }
            let name = Text.string(segment[segment.startIndex..<equals].trimmedWhitespace()).lowercased()
            guard !name.isEmpty else { continue }
            let value = unquote(segment[(equals + 1)...].trimmedWhitespace())
            let parts = name.split(separator: "*", omittingEmptySubsequences: false)
            if parts.count == 1 {
                if simple[name] == nil { simple[name] = Text.string(value) }
            } else if parts.count == 2, parts[1].isEmpty {
                extended[String(parts[0])] = value                                         // name*=
            } else if parts.count >= 2, let number = Int(parts[1]), number >= 0, number < 1_000 {
                let encoded = parts.count == 3 && parts[2].isEmpty                          // name*0*=
                pieces[String(parts[0]), default: [:]][number] = (value, encoded)
            }
        }
        var values = simple
        for (name, value) in extended { values[name] = decodeExtended(value, hasCharset: true) }
        for (name, numbered) in pieces {
            var charset: String?
            var joined: [UInt8] = []
            for number in numbered.keys.sorted() {
                guard let piece = numbered[number] else { continue }
                if piece.encoded {
                    var value = piece.value[...]
                    if number == 0, let (set, rest) = splitCharset(value) { charset = set; value = rest }
                    joined += percentDecode(value)
                } else {
                    joined += piece.value
                }
            }
            values[name] = Charset.decode(joined, charset: charset)
        }
        return (Text.string(first.trimmedWhitespace()), HeaderParameters(values: values))
    }

    private static func decodeExtended(_ value: [UInt8], hasCharset: Bool) -> String {
        guard hasCharset, let (charset, rest) = splitCharset(value[...]) else {
            return Text.string(percentDecode(value[...]))
        }
        return Charset.decode(percentDecode(rest), charset: charset)
    }

    /// "charset'lang'rest" -> (charset, rest)
    private static func splitCharset(_ value: ArraySlice<UInt8>) -> (String?, ArraySlice<UInt8>)? {
        let apostrophe = UInt8(ascii: "'")
        guard let first = value.firstIndex(of: apostrophe),
              let second = value[(first + 1)...].firstIndex(of: apostrophe) else { return nil }
        let charset = Text.string(value[value.startIndex..<first])
        return (charset.isEmpty ? nil : charset, value[(second + 1)...])
    }

    private static func percentDecode(_ value: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var index = value.startIndex
        while index < value.endIndex {
            if value[index] == UInt8(ascii: "%"), index + 2 < value.endIndex,
               let high = ASCII.hexValue(value[index + 1]), let low = ASCII.hexValue(value[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(value[index])
                index += 1
            }
        }
        return out
    }

    private static func unquote(_ value: ArraySlice<UInt8>) -> [UInt8] {
        guard let first = value.first, first == ASCII.quote else {
            // Unquoted: stop at whitespace or a comment.
            var out: [UInt8] = []
            for byte in value {
                if byte == UInt8(ascii: "(") { break }
                out.append(byte)
            }
            return Array(out[...].trimmedWhitespace())
        }
        var out: [UInt8] = []
        var index = value.startIndex + 1
        while index < value.endIndex {
            let byte = value[index]
            if byte == ASCII.backslash, index + 1 < value.endIndex { out.append(value[index + 1]); index += 2; continue }
            if byte == ASCII.quote { break }
            out.append(byte)
            index += 1
        }
        return out
    }

    /// Splits at ';' outside quoted strings and comments.
    private static func segmentsOutsideQuotes(_ raw: [UInt8]) -> [ArraySlice<UInt8>] {
        var segments: [ArraySlice<UInt8>] = []
        var start = 0
        var inQuotes = false
        var commentDepth = 0
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            if inQuotes {
                if byte == ASCII.backslash { index += 2; continue }
                if byte == ASCII.quote { inQuotes = false }
            } else if byte == ASCII.quote, commentDepth == 0 {
                inQuotes = true
            } else if byte == UInt8(ascii: "(") {
                commentDepth += 1
            } else if byte == UInt8(ascii: ")"), commentDepth > 0 {
                commentDepth -= 1
            } else if byte == ASCII.semicolon, commentDepth == 0 {
                segments.append(raw[start..<index])
                start = index + 1
            }
            index += 1
        }
        segments.append(raw[start..<min(raw.count, max(start, raw.count))])
        return segments
    }
}
