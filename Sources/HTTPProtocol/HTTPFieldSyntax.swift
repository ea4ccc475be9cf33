// The field syntax both HTTP parsers share (RFC 9110 §5, RFC 9112 §5): one
// header line into a name and a trimmed value, comma-separated list elements,
// and Content-Length digits. Each parser turns a refusal's text into its own
// error (400 for a request, a malformed response for the client).

enum HTTPFieldSyntax {
    /// `name: value` with a token name, no obs-fold, no control characters; the value trimmed.
    /// On refusal, a short reason safe to show a peer.
    static func field(_ line: ArraySlice<UInt8>) -> Result<HTTPHeader, FieldRefusal> {
        guard let first = line.first, !ASCII.isWhitespace(first) else {
            return .failure(FieldRefusal(reason: "folded or indented header line"))
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            return .failure(FieldRefusal(reason: "header line without a colon"))
        }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(ASCII.isTokenCharacter) else {
            return .failure(FieldRefusal(reason: "header field name"))
        }
        let value = line[(colon + 1)...]
        guard value.allSatisfy(ASCII.isFieldValueByte) else {
            return .failure(FieldRefusal(reason: "control character in a header value"))
        }
        return .success(HTTPHeader(name: Array(name), value: Array(trimmed(value))))
    }

    struct FieldRefusal: Error {
        var reason: String
    }

    /// The elements of a comma-separated field value, trimmed; empty elements dropped.
    static func listElements(_ value: [UInt8]) -> [ArraySlice<UInt8>] {
        value.split(separator: UInt8(ascii: ",")).compactMap { element in
            let token = trimmed(element)
            return token.isEmpty ? nil : token
        }
    }

    /// 1*DIGIT; a value too long to be a real length (over 18 digits) reads as Int.max.
    static func contentLength(_ value: some Collection<UInt8>) -> Int? {
        guard !value.isEmpty, value.allSatisfy(ASCII.isDigit) else { return nil }
        let digits = value.drop { $0 == UInt8(ascii: "0") }
        guard digits.count <= 18 else { return Int.max }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    static func trimmed(_ value: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var value = value
        while let head = value.first, ASCII.isWhitespace(head) { value = value.dropFirst() }
        while let tail = value.last, ASCII.isWhitespace(tail) { value = value.dropLast() }
        return value
    }
}
