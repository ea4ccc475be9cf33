// Typed reads from one TOML table, each reporting to a shared error sink with
// the key's dotted path and line instead of stopping. Every key a reader asks
// for becomes "known"; `finish()` reports the rest as unknown keys (with a
// did-you-mean). A read that fails returns its default so checking goes on.

/// Collects errors for one file; lines come from the scanned text.
final class ErrorSink {
    let file: String
    let lines: LineIndex
    private(set) var errors: [ConfigError] = []

    init(file: String, lines: LineIndex) {
        self.file = file
        self.lines = lines
    }

    func report(_ path: ConfigKeyPath, _ message: String) {
        errors.append(ConfigError(file: file, line: lines.line(of: path), key: path, message: message))
    }

    func append(_ error: ConfigError) {
        errors.append(error)
    }
}

final class TableReader {
    let path: ConfigKeyPath
    let entries: [String: TOMLNode]
    let sink: ErrorSink
    private var known: [String] = []

    init(path: ConfigKeyPath, entries: [String: TOMLNode], sink: ErrorSink) {
        self.path = path
        self.entries = entries
        self.sink = sink
    }

    func keyPath(_ key: String) -> ConfigKeyPath { path.appending(key) }

    func report(_ key: String, _ message: String) {
        sink.report(keyPath(key), message)
    }

    /// The raw value, marking the key as known.
    func raw(_ key: String) -> TOMLNode? {
        if !known.contains(key) { known.append(key) }
        return entries[key]
    }

    func missing(_ key: String, expected: String) {
        report(key, "missing required key (expected \(expected))")
    }

    func wrongType(_ at: ConfigKeyPath, expected: String, found: TOMLNode) {
        sink.report(at, "expected \(expected), found \(found.summary)")
    }

    // MARK: scalars

    func string(_ key: String, required: Bool = false, expected: String = "a string") -> String? {
        guard let node = raw(key) else {
            if required { missing(key, expected: expected) }
            return nil
        }
        guard case .string(let text) = node else {
            wrongType(keyPath(key), expected: expected, found: node)
            return nil
        }
        guard !text.isEmpty else {
            report(key, "expected \(expected), found an empty string")
            return nil
        }
        return text
    }

    func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
        optionalInteger(key, range: range) ?? fallback
    }

    func optionalInteger(_ key: String, range: ClosedRange<Int>) -> Int? {
        guard let node = raw(key) else { return nil }
        return Self.integer(node, at: keyPath(key), range: range, sink: sink)
    }

    static func integer(_ node: TOMLNode, at path: ConfigKeyPath, range: ClosedRange<Int>, sink: ErrorSink) -> Int? {
        let expected = range.upperBound == Int.max
            ? "an integer of at least \(range.lowerBound)"
            : "an integer from \(range.lowerBound) to \(range.upperBound)"
        guard case .integer(let value) = node else {
            sink.report(path, "expected \(expected), found \(node.summary)")
            return nil
        }
        guard range.contains(value) else {
            sink.report(path, "expected \(expected), found \(value)")
            return nil
        }
        return value
    }

    /// A string value run through `parse`; `expected` names the syntax, e.g. `a duration like "30s"`.
    func parsed<T>(_ key: String, required: Bool = false, expected: String, parse: (String) -> T?) -> T? {
        guard let node = raw(key) else {
            if required { missing(key, expected: expected) }
            return nil
        }
        return Self.parsed(node, at: keyPath(key), expected: expected, sink: sink, parse: parse)
    }

    static func parsed<T>(_ node: TOMLNode, at path: ConfigKeyPath, expected: String, sink: ErrorSink,
                          parse: (String) -> T?) -> T? {
        guard case .string(let text) = node, let value = parse(text) else {
            var message = "expected \(expected), found \(node.summary)"
            if case .integer = node, expected.contains("duration") {
                message += " (a duration needs a unit)"
            }
            sink.report(path, message)
            return nil
        }
        return value
    }

    /// An array of strings, each run through `parse`; nil when absent or not an array.
    func parsedList<T>(_ key: String, required: Bool = false, expected: String, parse: (String) -> T?) -> [T]? {
        guard let node = raw(key) else {
            if required { missing(key, expected: "a list of \(expected)") }
            return nil
        }
        guard case .array(let elements) = node else {
            wrongType(keyPath(key), expected: "a list of \(expected)", found: node)
            return nil
        }
        var values: [T] = []
        for (index, element) in elements.enumerated() {
            let at = keyPath(key).appending(index: index)
            if let value = Self.parsed(element, at: at, expected: expected, sink: sink, parse: parse) {
                values.append(value)
            }
        }
        return values
    }

    func duration(_ key: String, default fallback: Duration, allowZero: Bool = false) -> Duration {
        let expected = #"a duration like "30s" or "5m""#
        guard let value = parsed(key, expected: expected, parse: DurationText.parse) else { return fallback }
        if value == .zero && !allowZero {
            report(key, "expected a duration above zero, found \"0s\"")
            return fallback
        }
        return value
    }

    func byteSize(_ key: String, default fallback: ByteSize, minimum: Int) -> ByteSize {
        let expected = #"a size like "35M", "512K", "1G" or a number of bytes"#
        guard let node = raw(key) else { return fallback }
        let size: ByteSize?
        if case .integer(let bytes) = node {
            size = bytes >= 0 ? ByteSize(bytes: bytes) : nil
            if size == nil { report(key, "expected \(expected), found \(node.summary)") }
        } else {
            size = Self.parsed(node, at: keyPath(key), expected: expected, sink: sink, parse: ByteSize.parse)
        }
        guard let size else { return fallback }
        guard size.bytes >= minimum else {
            report(key, "expected a size of at least \(ByteSize(bytes: minimum)), found \(size)")
            return fallback
        }
        return size
    }

    // MARK: tables

    func table(_ key: String) -> TableReader? {
        guard let node = raw(key) else { return nil }
        guard case .table(let entries) = node else {
            wrongType(keyPath(key), expected: "a table", found: node)
            return nil
        }
        return TableReader(path: keyPath(key), entries: entries, sink: sink)
    }

    /// [[key]] sections (an array of tables); elements that are not tables are reported.
    func tableArray(_ key: String) -> [TableReader] {
        guard let node = raw(key) else { return [] }
        guard case .array(let elements) = node else {
            wrongType(keyPath(key), expected: "[[\(key)]] sections", found: node)
            return []
        }
        var readers: [TableReader] = []
        for (index, element) in elements.enumerated() {
            let at = keyPath(key).appending(index: index)
            guard case .table(let entries) = element else {
                sink.report(at, "expected a table, found \(element.summary)")
                continue
            }
            readers.append(TableReader(path: at, entries: entries, sink: sink))
        }
        return readers
    }

    /// Reports every key nobody asked for.
    func finish() {
        let knownList = known.sorted().joined(separator: ", ")
        for key in entries.keys.sorted() where !known.contains(key) {
            var message = "unknown key (known keys: \(knownList))"
            if let suggestion = Self.closest(to: key, among: known) {
                message += "; did you mean \"\(suggestion)\"?"
            }
            report(key, message)
        }
    }

    /// The known key within edit distance 2 (or a third of its length) of `key`, if any.
    static func closest(to key: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(Array(key.utf8), Array($0.utf8))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(2, best.0.utf8.count / 3) ? best.0 : nil
    }

    static func editDistance(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
        guard lhs.count <= 100, rhs.count <= 100 else { return Int.max }
        var previous = Array(0...rhs.count)
        for (i, left) in lhs.enumerated() {
            var current = [i + 1]
            for (j, right) in rhs.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1)))
            }
            previous = current
        }
        return previous[rhs.count]
    }
}
