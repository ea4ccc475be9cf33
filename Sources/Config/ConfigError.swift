// Config errors as values: file, line, dotted key and what was expected.
// The loader collects every error it finds (never only the first) and returns
// them sorted by line. `description` renders one line an admin can act on:
//   conf/mailgate.toml:12: submission.max_recipents: unknown key (known keys: ...)

/// One step of a path into the TOML document: a table key or an array index.
public enum KeyPathComponent: Hashable, Sendable {
    case key(String)
    case index(Int)
}

/// A path to a value, rendered dotted with 0-based indices: `account[2].limits.per_hour`.
public struct ConfigKeyPath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var components: [KeyPathComponent]

    public init(_ components: [KeyPathComponent] = []) {
        self.components = components
    }

    /// Builds a path from a dotted string with `[n]` indices, e.g. "account[0].smtp".
    /// Only bare keys (letters, digits, `_`, `-`) are understood; meant for tests and callers.
    public init(stringLiteral value: String) {
        var parts: [KeyPathComponent] = []
        for segment in value.split(separator: ".", omittingEmptySubsequences: true) {
            var rest = Substring(segment)
            if let bracket = rest.firstIndex(of: "[") {
                parts.append(.key(String(rest[..<bracket])))
                rest = rest[bracket...]
                while rest.first == "[", let close = rest.firstIndex(of: "]") {
                    let digits = rest[rest.index(after: rest.startIndex)..<close]
                    parts.append(.index(Int(digits) ?? 0))
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                parts.append(.key(String(rest)))
            }
        }
        self.components = parts
    }

    public func appending(_ key: String) -> ConfigKeyPath {
        ConfigKeyPath(components + [.key(key)])
    }

    public func appending(index: Int) -> ConfigKeyPath {
        ConfigKeyPath(components + [.index(index)])
    }

    /// The path without its last component; nil for the root.
    public var parent: ConfigKeyPath? {
        components.isEmpty ? nil : ConfigKeyPath(Array(components.dropLast()))
    }

    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key):
                if !text.isEmpty { text += "." }
                text += Self.isBare(key) ? key : "\"\(key)\""
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    private static func isBare(_ key: String) -> Bool {
        !key.isEmpty && key.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-": return true
            default: return false
            }
        }
    }
}

/// One problem in a config file.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The config file as the caller named it (or the environment variable for an override).
    public var file: String
    /// 1-based line; nil when the problem has no place in the file (e.g. the file is unreadable).
    public var line: Int?
    /// Dotted key, e.g. `account[2].limits.per_hour`; empty for the whole file.
    public var key: ConfigKeyPath
    /// What was expected and what was found.
    public var message: String

    public init(file: String, line: Int?, key: ConfigKeyPath, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !key.components.isEmpty { text += "\(key): " }
        return text + message
    }
}

/// All the problems found in one config file, sorted by line (errors without a line first).
public struct ConfigErrors: Error, CustomStringConvertible, Sendable, Equatable {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) {
        self.errors = errors.enumerated().sorted { lhs, rhs in
            let left = lhs.element.line ?? 0
            let right = rhs.element.line ?? 0
            return left != right ? left < right : lhs.offset < rhs.offset
        }.map(\.element)
    }

    /// One error per line, in file order.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
