// Maps each dotted key of a TOML document to the line where it is written,
// because TOMLKit's values carry no source positions. A light scanner over the
// bytes: [table] and [[array]] headers (with their occurrence index), `key =`
// lines, array elements and inline-table keys (at the line they start on).
// It validates nothing (TOMLKit does) and always terminates, even on bad input.

struct LineIndex: Sendable {
    private var lines: [ConfigKeyPath: Int] = [:]
    /// Input that would trip an assertion in toml++ (see `checkHeaderStart`); checked before parsing.
    private(set) var syntaxProblem: (line: Int, message: String)?

    init(text: String) {
        var scanner = LineScanner(bytes: Array(text.utf8))
        scanner.run()
        lines = scanner.lines
        syntaxProblem = scanner.syntaxProblem
    }

    /// The line of `path`, or of its nearest ancestor that is written in the file.
    func line(of path: ConfigKeyPath) -> Int? {
        var current: ConfigKeyPath? = path
        while let candidate = current {
            if let line = lines[candidate] { return line }
            current = candidate.parent
        }
        return nil
    }

    /// The line of exactly `path`, nil when it is not written in the file.
    func exactLine(of path: ConfigKeyPath) -> Int? {
        lines[path]
    }
}

private struct LineScanner {
    let bytes: [UInt8]
    var position = 0
    var line = 1
    var lines: [ConfigKeyPath: Int] = [:]
    /// How many elements each array of tables has so far, by resolved path.
    var arrayTableCounts: [ConfigKeyPath: Int] = [:]
    var currentTable = ConfigKeyPath()
    /// The first problem that must stop the text from reaching TOMLKit (line, message).
    var syntaxProblem: (line: Int, message: String)?
    var nesting = 0
    static let maximumNesting = 64

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    func peek(_ offset: Int) -> UInt8? {
        let index = position + offset
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func advance() {
        if current == UInt8(ascii: "\n") { line += 1 }
        position += 1
    }

    mutating func record(_ path: ConfigKeyPath, at line: Int) {
        var prefix = ConfigKeyPath()
        for component in path.components {
            prefix.components.append(component)
            if lines[prefix] == nil { lines[prefix] = line }
        }
    }

    mutating func run() {
        while current != nil {
            skipSpaces()
            guard let byte = current else { return }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                advance()
            case UInt8(ascii: "#"):
                skipToEndOfLine()
            case UInt8(ascii: "["):
                scanHeader()
                skipToEndOfLine()
            default:
                scanKeyValue(under: currentTable)
                skipToEndOfLine()
            }
        }
    }

    mutating func scanHeader() {
        let headerLine = line
        advance()
        let isArray = current == UInt8(ascii: "[")
        if isArray { advance() }
        checkHeaderStart(line: headerLine, isArray: isArray)
        let keys = scanKey()
        var resolved = ConfigKeyPath()
        for (offset, key) in keys.enumerated() {
            resolved = resolved.appending(key)
            let isLast = offset == keys.count - 1
            if isLast && isArray {
                let count = (arrayTableCounts[resolved] ?? 0) + 1
                arrayTableCounts[resolved] = count
                resolved = resolved.appending(index: count - 1)
            } else if let count = arrayTableCounts[resolved] {
                resolved = resolved.appending(index: count - 1)
            }
        }
        currentTable = resolved
        record(resolved, at: headerLine)
    }

    /// toml++ 3.x asserts (debug) or assumes (release: undefined behaviour) that a header's
    /// first key character is a bare-key character or a quote; refuse anything else first.
    mutating func checkHeaderStart(line headerLine: Int, isArray: Bool) {
        var lookahead = position
        while lookahead < bytes.count, bytes[lookahead] == UInt8(ascii: " ") || bytes[lookahead] == UInt8(ascii: "\t") {
            lookahead += 1
        }
        guard lookahead < bytes.count else {
            if syntaxProblem == nil { syntaxProblem = (headerLine, "expected a key in the table header") }
            return
        }
        let byte = bytes[lookahead]
        let fine = Self.isBareKeyByte(byte) || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
            || byte == UInt8(ascii: "]")
            // "[ [" is refused by toml++ itself ("brackets must be contiguous"); "[[[" is not.
            || (byte == UInt8(ascii: "[") && !isArray && lookahead > position)
        if !fine && syntaxProblem == nil {
            syntaxProblem = (headerLine, "expected a key in the table header")
        }
    }

    mutating func scanKeyValue(under table: ConfigKeyPath) {
        let keyLine = line
        let keys = scanKey()
        skipSpaces()
        guard !keys.isEmpty, current == UInt8(ascii: "=") else {
            // Not a key/value line: step over one byte so the scan always progresses.
            if current != nil { advance() }
            return
        }
        advance()
        skipSpaces()
        var path = table
        for key in keys { path = path.appending(key) }
        record(path, at: keyLine)
        scanValue(path)
    }

    /// A dotted key: bare, "basic" or 'literal' parts separated by dots.
    mutating func scanKey() -> [String] {
        var keys: [String] = []
        while true {
            skipSpaces()
            guard let byte = current else { return keys }
            switch byte {
            case UInt8(ascii: "\""):
                keys.append(scanQuotedKey(quote: byte))
            case UInt8(ascii: "'"):
                keys.append(scanQuotedKey(quote: byte))
            default:
                let start = position
                while let next = current, Self.isBareKeyByte(next) { advance() }
                if position == start { return keys }
                keys.append(String(decoding: bytes[start..<position], as: UTF8.self))
            }
            skipSpaces()
            guard current == UInt8(ascii: ".") else { return keys }
            advance()
        }
    }

    mutating func scanQuotedKey(quote: UInt8) -> String {
        advance()
        var collected: [UInt8] = []
        while let byte = current, byte != quote, byte != UInt8(ascii: "\n") {
            if quote == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") {
                advance()
                guard let escaped = current else { break }
                collected.append(contentsOf: Self.unescape(escaped))
            } else {
                collected.append(byte)
            }
            advance()
        }
        if current == quote { advance() }
        return String(decoding: collected, as: UTF8.self)
    }

    mutating func scanValue(_ path: ConfigKeyPath) {
        guard let byte = current else { return }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            if peek(1) == byte && peek(2) == byte {
                scanMultilineString(quote: byte)
            } else {
                scanSingleLineString(quote: byte)
            }
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            // Bounded recursion: this scanner runs before TOMLKit, on untrusted nesting.
            guard nesting < Self.maximumNesting else {
                if syntaxProblem == nil { syntaxProblem = (line, "values nested deeper than \(Self.maximumNesting)") }
                position = bytes.count
                return
            }
            nesting += 1
            defer { nesting -= 1 }
            if byte == UInt8(ascii: "[") { scanArray(path) } else { scanInlineTable(path) }
        default:
            while let next = current, !Self.endsScalar(next) { advance() }
        }
    }

    mutating func scanSingleLineString(quote: UInt8) {
        advance()
        while let byte = current, byte != UInt8(ascii: "\n") {
            if byte == quote { advance(); return }
            if quote == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") { advance() }
            if current != nil, current != UInt8(ascii: "\n") { advance() }
        }
    }

    mutating func scanMultilineString(quote: UInt8) {
        advance(); advance(); advance()
        while let byte = current {
            if byte == quote, peek(1) == quote, peek(2) == quote {
                advance(); advance(); advance()
                // Up to two more quotes may belong to the content ("""a"""").
                while current == quote { advance() }
                return
            }
            if quote == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") { advance() }
            if current != nil { advance() }
        }
    }

    mutating func scanArray(_ path: ConfigKeyPath) {
        advance()
        var index = 0
        while true {
            skipSpacesNewlinesAndComments()
            guard let byte = current else { return }
            if byte == UInt8(ascii: "]") { advance(); return }
            if byte == UInt8(ascii: "}") && syntaxProblem == nil {
                // toml++ 3.4 asserts (or assumes, in release) that no value starts with '}'.
                syntaxProblem = (line, "expected a value or ']' in the array, found '}'")
            }
            let before = position
            let elementPath = path.appending(index: index)
            record(elementPath, at: line)
            scanValue(elementPath)
            index += 1
            skipSpacesNewlinesAndComments()
            if current == UInt8(ascii: ",") {
                advance()
            } else if current == UInt8(ascii: "]") {
                advance()
                return
            } else if position == before {
                if current != nil { advance() } else { return }
            } else {
                return
            }
        }
    }

    mutating func scanInlineTable(_ path: ConfigKeyPath) {
        advance()
        while true {
            skipSpacesNewlinesAndComments()
            guard let byte = current else { return }
            if byte == UInt8(ascii: "}") { advance(); return }
            let before = position
            scanKeyValue(under: path)
            skipSpacesNewlinesAndComments()
            if current == UInt8(ascii: ",") {
                advance()
            } else if current == UInt8(ascii: "}") {
                advance()
                return
            } else if position == before {
                if current != nil { advance() } else { return }
            } else {
                return
            }
        }
    }

    mutating func skipSpaces() {
        while current == UInt8(ascii: " ") || current == UInt8(ascii: "\t") { advance() }
    }

    mutating func skipSpacesNewlinesAndComments() {
        while let byte = current {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                advance()
            case UInt8(ascii: "#"):
                while let next = current, next != UInt8(ascii: "\n") { advance() }
            default:
                return
            }
        }
    }

    mutating func skipToEndOfLine() {
        // Strings were consumed by scanValue, so a `#` here starts a comment.
        while let byte = current, byte != UInt8(ascii: "\n") { advance() }
        if current != nil { advance() }
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    static func endsScalar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"),
             UInt8(ascii: "\n"), UInt8(ascii: "\r"):
            return true
        default:
            return false
        }
    }

    /// Escapes inside quoted keys; \u sequences are kept literally (keys we know are ASCII).
    static func unescape(_ byte: UInt8) -> [UInt8] {
        switch byte {
        case UInt8(ascii: "n"): return [UInt8(ascii: "\n")]
        case UInt8(ascii: "t"): return [UInt8(ascii: "\t")]
        case UInt8(ascii: "r"): return [UInt8(ascii: "\r")]
        default: return [byte]
        }
    }
}
