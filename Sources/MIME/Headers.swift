// RFC 5322 header block parsing: fields are split, unfolded (line breaks
// removed, whitespace kept) and kept as raw bytes beside a String view.
// Contract: never fails; a line that is not a field ends the block (defect),
// a leading mbox "From " line is skipped. Limit: `maxFields` per block.

public struct HeaderField: Sendable, Equatable {
    public let name: String
    /// Unfolded value bytes, leading whitespace removed, exactly as sent otherwise.
    public let rawValue: [UInt8]

    /// The value as text (UTF-8, or ISO-8859-1 when the bytes are not UTF-8), encoded words untouched.
    public var value: String { Text.string(rawValue) }
    /// The value with RFC 2047 encoded words decoded, for unstructured fields such as Subject.
    public var decodedValue: String { EncodedWords.decode(rawValue) }
}

public struct Headers: Sendable, Equatable {
    public var fields: [HeaderField]

    public init(fields: [HeaderField] = []) { self.fields = fields }

    /// The first field with this name (case-insensitive), as text.
    public subscript(name: String) -> String? { first(name)?.value }

    public func first(_ name: String) -> HeaderField? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }
    }

    public func all(_ name: String) -> [HeaderField] {
        let wanted = name.lowercased()
        return fields.filter { $0.name.lowercased() == wanted }
    }

    public func contains(_ name: String) -> Bool { first(name) != nil }
}

struct HeaderBlock {
    var headers: Headers
    /// Index where the body starts (after the blank separator line, if any).
    var bodyStart: Int
    var defects: [MIMEDefect]
}

enum HeaderParser {
    static let maxFields = 5_000

    static func parse(_ bytes: ArraySlice<UInt8>) -> HeaderBlock {
        var fields: [HeaderField] = []
        var defects: [MIMEDefect] = []
        var currentName: String?
        var currentValue: [UInt8] = []
        var index = bytes.startIndex
        var bodyStart = bytes.endIndex
        var sawNonASCII = false

        func flush() {
            if let name = currentName {
                if fields.count < maxFields {
                    fields.append(HeaderField(name: name, rawValue: Array(currentValue[...].trimmedWhitespace())))
                } else if fields.count == maxFields {
                    defects.append(.tooManyHeaderFields)
                }
            }
            currentName = nil
            currentValue = []
        }

        var isFirstLine = true
        while let line = bytes.line(at: index) {
            defer { index = line.next; isFirstLine = false }
            if line.isEmpty {
                bodyStart = line.next
                flush()
                return HeaderBlock(headers: Headers(fields: fields), bodyStart: bodyStart, defects: defects)
            }
            let content = bytes[line.start..<line.contentEnd]
            if !sawNonASCII, content.contains(where: { $0 >= 0x80 }) {
                sawNonASCII = true
                defects.append(.nonASCIIHeader)
            }
            if ASCII.isBlank(content[content.startIndex]) {
                if currentName != nil {
                    currentValue.append(contentsOf: content)
                    continue
                }
                if fields.isEmpty && isFirstLine { continue }
            }
            if isFirstLine, content.hasPrefixCaseInsensitive(Array("From ".utf8)) { continue }
            if let (name, valueStart) = fieldName(content) {
                flush()
                currentName = name
                currentValue = Array(content[valueStart...])
                continue
            }
            // Not a field: the block ended without its blank line.
            flush()
            if !fields.isEmpty || !isFirstLine { defects.append(.missingHeaderBodySeparator) }
            return HeaderBlock(headers: Headers(fields: fields), bodyStart: line.start, defects: defects)
        }
        flush()
        return HeaderBlock(headers: Headers(fields: fields), bodyStart: bodyStart, defects: defects)
    }

    /// "Name:" at the start of a line: printable ASCII without spaces, optional blanks before the colon.
    private static func fieldName(_ line: ArraySlice<UInt8>) -> (String, Int)? {
        var index = line.startIndex
        while index < line.endIndex {
            let byte = line[index]
            if byte == ASCII.colon { break }
            if byte <= 32 || byte >= 127 {
                if ASCII.isBlank(byte) {
                    var probe = index
                    while probe < line.endIndex, ASCII.isBlank(line[probe]) { probe += 1 }
                    if probe < line.endIndex, line[probe] == ASCII.colon, index > line.startIndex {
                        return (Text.string(line[line.startIndex..<index]), probe + 1)
                    }
                }
                return nil
            }
            index += 1
        }
        guard index < line.endIndex, index > line.startIndex else { return nil }
        return (Text.string(line[line.startIndex..<index]), index + 1)
    }
}
