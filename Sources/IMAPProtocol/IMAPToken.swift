// The values the client-command framer produces: tokens (atoms, strings,
// literals, NIL, lists) and one complete tagged command.
// Contract: byte contents are kept exactly as received (quoted strings are
// unescaped); text helpers decode UTF-8 and return nil for anything else.

/// How a literal was announced by the client.
public enum IMAPLiteralForm: Hashable, Sendable {
    /// `{n}`: the client waits for a `+` continuation before sending the bytes.
    case synchronizing
    /// `{n+}` (RFC 7888 LITERAL+): the bytes follow at once.
    case nonSynchronizingPlus
    /// `{n-}` (RFC 7888 LITERAL-): the bytes follow at once; treated like `{n+}`
    /// because mailgate advertises LITERAL+, which accepts both spellings.
    case nonSynchronizingMinus

    public var isSynchronizing: Bool {
        switch self {
        case .synchronizing: return true
        case .nonSynchronizingPlus, .nonSynchronizingMinus: return false
        }
    }
}

/// One argument of a client command.
public indirect enum IMAPToken: Hashable, Sendable {
    /// An atom, kept as sent (case preserved). Also holds flags (`\Seen`),
    /// sequence sets and section specs such as `BODY[HEADER.FIELDS (From)]`.
    case atom([UInt8])
    /// A quoted string with its escapes removed.
    case quoted([UInt8])
    /// A literal's bytes; `binary` is true for literal8 (`~{n}`).
    case literal([UInt8], form: IMAPLiteralForm, binary: Bool)
    /// The atom NIL (any case).
    case nilValue
    /// A parenthesised list.
    case list([IMAPToken])

    /// The bytes of an astring/string argument (atom, quoted, non-binary
    /// literal, or NIL read as the mailbox-style atom "NIL"); nil for lists
    /// and literal8.
    public var astringBytes: [UInt8]? {
        switch self {
        case .atom(let bytes): return bytes
        case .quoted(let bytes): return bytes
        case .literal(let bytes, _, let binary): return binary ? nil : bytes
        case .nilValue: return Array("NIL".utf8)
        case .list: return nil
        }
    }

    /// The astring argument decoded as UTF-8; nil when it is not an astring
    /// or not valid UTF-8.
    public var astringText: String? {
        guard let bytes = astringBytes else { return nil }
        return String(validatingUTF8Bytes: bytes)
    }

    /// The bytes of an nstring (NIL gives nil, a list gives nil).
    public var nstringBytes: [UInt8]? {
        switch self {
        case .nilValue: return nil
        case .atom, .quoted, .literal, .list: return astringBytes
        }
    }
}

/// One complete client command: tag, upper-cased command name, arguments.
public struct IMAPCommand: Hashable, Sendable {
    public var tag: String
    /// The command name upper-cased (ASCII), e.g. "LOGIN".
    public var name: String
    public var arguments: [IMAPToken]

    public init(tag: String, name: String, arguments: [IMAPToken]) {
        self.tag = tag
        self.name = name
        self.arguments = arguments
    }
}

extension String {
    /// Decodes UTF-8 strictly: nil when the bytes are not valid UTF-8.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: self = String(scalars); return
            case .error: return nil
            }
        }
    }
}
