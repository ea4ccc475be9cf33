// Named limits for the client-command framer and the failures it reports.
// Contract: every limit is checked as bytes arrive, so no command can make
// the framer hold more than maxLineLength + maxTotalLiteralBytes of its own.

/// Limits applied to one client command (tag, line bytes, literals, nesting).
public struct IMAPCommandLimits: Hashable, Sendable {
    /// Longest tag accepted; longer tags are refused with an untagged BAD.
    public var maxTagLength: Int
    /// Bytes of one command outside literal data, CRLFs included (also while a
    /// refused line is being skipped). Exceeding it is fatal: the framer stops
    /// and the connection should end with BYE.
    public var maxLineLength: Int
    /// Largest single literal (`{n}`, `{n+}`, `{n-}`, `~{n}`). A synchronising
    /// literal above it is refused before the client sends it; a
    /// non-synchronising one above it is fatal (its bytes are already coming).
    public var maxLiteralSize: Int
    /// Largest non-synchronising literal (RFC 7888 LITERAL-: 4096). Between this
    /// and maxLiteralSize the command is refused and the literal skipped.
    public var maxNonSynchronizingLiteralSize: Int
    /// Sum of all literal bytes in one command.
    public var maxTotalLiteralBytes: Int
    /// Deepest nesting of parenthesised lists.
    public var maxListDepth: Int
    /// Most tokens (at any depth) in one command.
    public var maxTokens: Int

    public init(maxTagLength: Int = 64, maxLineLength: Int = 8192, maxLiteralSize: Int = 65536,
                maxNonSynchronizingLiteralSize: Int = 4096,
                maxTotalLiteralBytes: Int = 131072, maxListDepth: Int = 8, maxTokens: Int = 512) {
        self.maxTagLength = maxTagLength
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.maxNonSynchronizingLiteralSize = maxNonSynchronizingLiteralSize
        self.maxTotalLiteralBytes = maxTotalLiteralBytes
        self.maxListDepth = maxListDepth
        self.maxTokens = maxTokens
    }

    /// Before login only LOGIN, AUTHENTICATE and ID carry data: 8 KiB lines,
    /// 64 KiB literals (Dovecot's imap-login uses the same 8 KiB line cap).
    public static let preLogin = IMAPCommandLimits()
}

/// Why a command was refused by the framer.
public enum IMAPFramingError: Hashable, Sendable {
    /// The tag is empty, too long, or holds a character RFC 9051 forbids.
    case invalidTag
    /// A tag with no command name after it.
    case missingCommand
    /// Anything else the grammar forbids; the text says what.
    case syntax(String)
    /// More than maxLineLength bytes outside literals (fatal).
    case lineTooLong
    /// A literal announced larger than the limits; `announced` saturates at
    /// Int.max. Fatal when non-synchronising and above maxLiteralSize (the
    /// bytes are already coming and skipping them would take too long).
    case literalTooLarge(announced: Int, synchronizing: Bool)
    /// Lists nested deeper than maxListDepth.
    case listTooDeep
    /// More than maxTokens tokens.
    case tooManyTokens
}

/// A refused command: the tag when it was readable, the reason, and whether
/// the framer stopped for good (the caller then sends BYE and closes).
public struct IMAPFramingFailure: Hashable, Sendable {
    public var tag: String?
    public var error: IMAPFramingError
    public var isFatal: Bool

    public init(tag: String?, error: IMAPFramingError, isFatal: Bool) {
        self.tag = tag
        self.error = error
        self.isFatal = isFatal
    }
}

/// What the framer has for its caller after being fed bytes.
public enum IMAPCommandFramerEvent: Hashable, Sendable {
    /// Feed more bytes.
    case needMoreBytes
    /// A synchronising literal of this size was announced and accepted: send a
    /// continuation (`+ OK\r\n`), then feed the literal's bytes.
    case literalContinuationNeeded(byteCount: Int)
    /// One complete command.
    case command(IMAPCommand)
    /// A refused command. Non-fatal failures have already skipped the rest of
    /// the command (including any non-synchronising literal announced at the
    /// end of a skipped line); framing resumes with the next line.
    case failure(IMAPFramingFailure)
}

/// What nextLine() has for its caller.
public enum IMAPLineEvent: Hashable, Sendable {
    case needMoreBytes
    /// One raw line without its CRLF (or bare LF).
    case line([UInt8])
    case failure(IMAPFramingFailure)
}
