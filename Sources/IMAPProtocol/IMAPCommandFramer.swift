// Incremental framer/tokenizer for client commands (RFC 9051 / RFC 3501):
// tag, atoms, quoted strings, literals {n} {n+} {n-} ~{n}, lists, NIL.
// Contract: append bytes in chunks of any size, then call next() until it
// says needMoreBytes; results are identical however the input is split.
// Limits: see IMAPCommandLimits (non-synchronising literals capped at 4096 as
// RFC 7888 LITERAL-). NUL is refused outside literal8. Bare LF ends a line. Atoms
// may hold `[...]` sections with spaces and parens (BODY[HEADER.FIELDS (A)]).

public struct IMAPCommandFramer: Sendable {
    public var limits: IMAPCommandLimits

    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var phase: Phase = .lineStart
    private var tagBytes: [UInt8] = []
    private var tag: String?
    private var tokenBytes: [UInt8] = []
    private var lists: [[IMAPToken]] = [[]]
    private var tokenCount = 0
    private var lineBytes = 0
    private var literalBytes = 0
    /// Last bytes of a line being skipped, to spot a trailing `{n+}`.
    private var discardTail: [UInt8] = []
    /// Where nextLine() stopped scanning, so it never rescans.
    private var lineScanIndex = 0

    private enum Phase: Hashable, Sendable {
        case lineStart
        case tag
        case tokenStart(afterSpace: Bool)
        case separator
        case atom(bracketDepth: Int)
        case tilde
        case quoted(escaping: Bool)
        case literalSize(value: Int, digits: Int, binary: Bool)
        case literalClose(value: Int, form: IMAPLiteralForm, binary: Bool)
        case literalLineEnd(value: Int, form: IMAPLiteralForm, binary: Bool, sawCR: Bool)
        case literalData(remaining: Int, form: IMAPLiteralForm, binary: Bool)
        case lineCR
        case discarding
        case discardingLiteral(remaining: Int)
        case failed(IMAPFramingFailure)
    }

    public init(limits: IMAPCommandLimits = .preLogin) {
        self.limits = limits
    }

    /// Queues bytes from the peer. After a fatal failure the bytes are dropped.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if case .failed = phase { return }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes queued but not yet consumed by next()/nextLine().
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// True between commands (nothing of a command has been read yet).
    public var isAtCommandBoundary: Bool { phase == .lineStart }

    /// Hands over every unconsumed byte and empties the buffer. Meant for the
    /// command boundary: relay handoff after login, or discarding what was
    /// pipelined behind STARTTLS.
    public mutating func takeRemainingBytes() -> [UInt8] {
        let rest = Array(buffer[readIndex...])
        buffer.removeAll(keepingCapacity: false)
        readIndex = 0
        lineScanIndex = 0
        return rest
    }

    /// Reads one raw line (without CRLF/LF) at a command boundary, e.g. an
    /// AUTHENTICATE continuation. A line longer than maxLineLength fails fatally.
    public mutating func nextLine() -> IMAPLineEvent {
        if case .failed(let failure) = phase { return .failure(failure) }
        var index = max(lineScanIndex, readIndex)
        while index < buffer.count {
            if buffer[index] == 0x0A {
                var end = index
                if end > readIndex && buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[readIndex..<end])
                readIndex = index + 1
                lineScanIndex = readIndex
                compactIfNeeded()
                return .line(line)
            }
            index += 1
            if index - readIndex > limits.maxLineLength {
                return .failure(fail(.lineTooLong, fatal: true))
            }
        }
        lineScanIndex = index
        return .needMoreBytes
    }

    /// Consumes queued bytes until a command, a continuation request or a
    /// failure is ready.
    public mutating func next() -> IMAPCommandFramerEvent {
        if case .failed(let failure) = phase { return .failure(failure) }
        while readIndex < buffer.count {
            switch phase {
            case .literalData(let remaining, let form, let binary):
                let take = min(remaining, buffer.count - readIndex)
                tokenBytes.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                readIndex += take
                if take == remaining {
                    if let event = finishLiteral(form: form, binary: binary) {
                        compactIfNeeded()
                        return event
                    }
                } else {
                    phase = .literalData(remaining: remaining - take, form: form, binary: binary)
                }
                continue
            case .discardingLiteral(let remaining):
                let take = min(remaining, buffer.count - readIndex)
                readIndex += take
                phase = take == remaining ? .discarding : .discardingLiteral(remaining: remaining - take)
                continue
            case .discarding:
                let byte = buffer[readIndex]
                readIndex += 1
                lineBytes += 1
                if lineBytes > limits.maxLineLength {
                    compactIfNeeded()
                    return .failure(fail(.lineTooLong, fatal: true))
                }
                discardByte(byte)
                continue
            case .failed(let failure):
                return .failure(failure)
            case .lineStart, .tag, .tokenStart, .separator, .atom, .tilde, .quoted,
                 .literalSize, .literalClose, .literalLineEnd, .lineCR:
                break
            }
            let byte = buffer[readIndex]
            readIndex += 1
            lineBytes += 1
            if lineBytes > limits.maxLineLength {
                compactIfNeeded()
                return .failure(fail(.lineTooLong, fatal: true))
            }
            if let event = step(byte) {
                compactIfNeeded()
                return event
            }
        }
        compactIfNeeded()
        return .needMoreBytes
    }

    // MARK: - One byte

    private mutating func step(_ byte: UInt8) -> IMAPCommandFramerEvent? {
        switch phase {
        case .lineStart:
            if byte == 0x0D || byte == 0x0A {
                // Blank lines between commands are ignored.
                lineBytes = 0
                return nil
            }
            phase = .tag
            return step(byte)
        case .tag:
            return stepTag(byte)
        case .tokenStart(let afterSpace):
            return stepTokenStart(byte, afterSpace: afterSpace)
        case .separator:
            return stepSeparator(byte)
        case .atom(let depth):
            return stepAtom(byte, bracketDepth: depth)
        case .tilde:
            if byte == UInt8(ascii: "{") {
                phase = .literalSize(value: 0, digits: 0, binary: true)
                return nil
            }
            tokenBytes = [UInt8(ascii: "~")]
            phase = .atom(bracketDepth: 0)
            return stepAtom(byte, bracketDepth: 0)
        case .quoted(let escaping):
            return stepQuoted(byte, escaping: escaping)
        case .literalSize(let value, let digits, let binary):
            return stepLiteralSize(byte, value: value, digits: digits, binary: binary)
        case .literalClose(let value, let form, let binary):
            guard byte == UInt8(ascii: "}") else { return syntaxError("bad literal announcement") }
            phase = .literalLineEnd(value: value, form: form, binary: binary, sawCR: false)
            return nil
        case .literalLineEnd(let value, let form, let binary, let sawCR):
            if byte == 0x0D && !sawCR {
                phase = .literalLineEnd(value: value, form: form, binary: binary, sawCR: true)
                return nil
            }
            guard byte == 0x0A else { return syntaxError("literal announcement not at end of line") }
            return acceptLiteral(size: value, form: form, binary: binary)
        case .lineCR:
            guard byte == 0x0A else { return syntaxError("CR without LF") }
            return finishLine()
        case .literalData, .discarding, .discardingLiteral, .failed:
            return nil  // handled in next()
        }
    }

    private mutating func stepTag(_ byte: UInt8) -> IMAPCommandFramerEvent? {
        if byte == 0x20 {
            guard !tagBytes.isEmpty, let text = String(validatingUTF8Bytes: tagBytes) else {
                return failLine(.invalidTag)
            }
            tag = text
            phase = .tokenStart(afterSpace: false)
            return nil
        }
        if byte == 0x0D || byte == 0x0A {
            let text = String(validatingUTF8Bytes: tagBytes)
            let valid = !tagBytes.isEmpty && tagBytes.count <= limits.maxTagLength
            tag = valid ? text : nil
            return lineEndFailure(valid ? .missingCommand : .invalidTag, sawCR: byte == 0x0D)
        }
        guard IMAPGrammar.isTagChar(byte), tagBytes.count < limits.maxTagLength else {
            return failLine(.invalidTag)
        }
        tagBytes.append(byte)
        return nil
    }

    private mutating func stepTokenStart(_ byte: UInt8, afterSpace: Bool) -> IMAPCommandFramerEvent? {
        let isCommandName = lists.count == 1 && lists[0].isEmpty
        switch byte {
        case UInt8(ascii: "("):
            guard !isCommandName else { return syntaxError("command name expected") }
            guard lists.count <= limits.maxListDepth else { return failLine(.listTooDeep) }
            lists.append([])
            phase = .tokenStart(afterSpace: false)
            return nil
        case UInt8(ascii: ")"):
            guard lists.count > 1, lists[lists.count - 1].isEmpty, !afterSpace else {
                return syntaxError("unexpected )")
            }
            return closeList()
        case UInt8(ascii: "\""):
            guard !isCommandName else { return syntaxError("command name expected") }
            tokenBytes = []
            phase = .quoted(escaping: false)
            return nil
        case UInt8(ascii: "{"):
            guard !isCommandName else { return syntaxError("command name expected") }
            phase = .literalSize(value: 0, digits: 0, binary: false)
            return nil
        case UInt8(ascii: "~"):
            guard !isCommandName else { return syntaxError("command name expected") }
            phase = .tilde
            return nil
        case 0x0D:
            phase = .lineCR
            return nil
        case 0x0A:
            return finishLine()
        default:
            guard IMAPGrammar.isAtomChar(byte) || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "[") else {
                return syntaxError(byte == 0x20 ? "unexpected space" : "invalid character")
            }
            tokenBytes = []
            phase = .atom(bracketDepth: 0)
            return stepAtom(byte, bracketDepth: 0)
        }
    }

    private mutating func stepSeparator(_ byte: UInt8) -> IMAPCommandFramerEvent? {
        switch byte {
        case 0x20:
            phase = .tokenStart(afterSpace: true)
            return nil
        case UInt8(ascii: ")"):
            guard lists.count > 1 else { return syntaxError("unexpected )") }
            return closeList()
        case 0x0D:
            phase = .lineCR
            return nil
        case 0x0A:
            return finishLine()
        default:
            return syntaxError("missing space between arguments")
        }
    }

    private mutating func stepAtom(_ byte: UInt8, bracketDepth: Int) -> IMAPCommandFramerEvent? {
        let endsAtom = byte == 0x20 || byte == UInt8(ascii: ")") || byte == 0x0D || byte == 0x0A
        if bracketDepth == 0 && endsAtom || bracketDepth > 0 && (byte == 0x0D || byte == 0x0A) {
            if let failure = finishToken(IMAPGrammar.isNil(tokenBytes) ? .nilValue : .atom(tokenBytes)) {
                return failure
            }
            phase = .separator
            return stepSeparator(byte)
        }
        switch byte {
        case UInt8(ascii: "["):
            tokenBytes.append(byte)
            phase = .atom(bracketDepth: bracketDepth + 1)
        case UInt8(ascii: "]"):
            tokenBytes.append(byte)
            phase = .atom(bracketDepth: max(0, bracketDepth - 1))
        default:
            let allowedInBrackets = bracketDepth > 0
                && (byte == 0x20 || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: "\""))
            guard IMAPGrammar.isAtomChar(byte) || allowedInBrackets else {
                return syntaxError("invalid character in atom")
            }
            tokenBytes.append(byte)
        }
        return nil
    }

    private mutating func stepQuoted(_ byte: UInt8, escaping: Bool) -> IMAPCommandFramerEvent? {
        if escaping {
            guard byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
                return syntaxError("invalid escape in quoted string")
            }
            tokenBytes.append(byte)
            phase = .quoted(escaping: false)
            return nil
        }
        switch byte {
        case UInt8(ascii: "\\"):
            phase = .quoted(escaping: true)
        case UInt8(ascii: "\""):
            if let failure = finishToken(.quoted(tokenBytes)) { return failure }
            phase = .separator
        case 0x00, 0x0D, 0x0A:
            return syntaxError("invalid character in quoted string")
        default:
            tokenBytes.append(byte)
        }
        return nil
    }

    private mutating func stepLiteralSize(_ byte: UInt8, value: Int, digits: Int, binary: Bool) -> IMAPCommandFramerEvent? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            // Saturate instead of overflowing: any size above the limits is refused anyway.
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            let next = overflow1 || overflow2 ? Int.max : sum
            phase = .literalSize(value: next, digits: digits + 1, binary: binary)
            return nil
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "}"):
            guard digits > 0 else { return syntaxError("bad literal announcement") }
            if byte == UInt8(ascii: "}") {
                phase = .literalLineEnd(value: value, form: .synchronizing, binary: binary, sawCR: false)
            } else {
                let form: IMAPLiteralForm = byte == UInt8(ascii: "+") ? .nonSynchronizingPlus : .nonSynchronizingMinus
                phase = .literalClose(value: value, form: form, binary: binary)
            }
            return nil
        default:
            return syntaxError("bad literal announcement")
        }
    }

    // MARK: - Tokens, lists, lines

    private mutating func finishToken(_ token: IMAPToken) -> IMAPCommandFramerEvent? {
        tokenCount += 1
        guard tokenCount <= limits.maxTokens else { return failLine(.tooManyTokens) }
        lists[lists.count - 1].append(token)
        tokenBytes = []
        return nil
    }

    private mutating func closeList() -> IMAPCommandFramerEvent? {
        let inner = lists.removeLast()
        if let failure = finishToken(.list(inner)) { return failure }
        phase = .separator
        return nil
    }

    private mutating func acceptLiteral(size: Int, form: IMAPLiteralForm, binary: Bool) -> IMAPCommandFramerEvent? {
        let total = literalBytes.addingReportingOverflow(size)
        let sizeLimit = form.isSynchronizing ? limits.maxLiteralSize
                                             : min(limits.maxLiteralSize, limits.maxNonSynchronizingLiteralSize)
        guard size <= sizeLimit, !total.overflow, total.partialValue <= limits.maxTotalLiteralBytes else {
            let error = IMAPFramingError.literalTooLarge(announced: size, synchronizing: form.isSynchronizing)
            guard form.isSynchronizing || size <= limits.maxLiteralSize else {
                return .failure(fail(error, fatal: true))
            }
            let failure = IMAPFramingFailure(tag: tag, error: error, isFatal: false)
            resetCommand()
            // A synchronising client waits for "+" and will not send the bytes:
            // the next line is a new command. A non-synchronising one (RFC 7888
            // LITERAL- above 4096) is sending them: skip them and the line's rest.
            if !form.isSynchronizing { phase = .discardingLiteral(remaining: size) }
            return .failure(failure)
        }
        guard tokenCount < limits.maxTokens else {
            let failure = IMAPFramingFailure(tag: tag, error: .tooManyTokens, isFatal: false)
            resetCommand()
            // A synchronising client waits for "+"; a non-synchronising one is
            // already sending the literal and the rest of its command: skip both.
            if !form.isSynchronizing { phase = .discardingLiteral(remaining: size) }
            return .failure(failure)
        }
        literalBytes = total.partialValue
        tokenBytes = []
        tokenBytes.reserveCapacity(size)
        // Bytes inside the literal do not count towards the line length.
        phase = .literalData(remaining: size, form: form, binary: binary)
        if size == 0 { _ = finishLiteral(form: form, binary: binary) }  // cannot fail: token room checked above
        return form.isSynchronizing ? .literalContinuationNeeded(byteCount: size) : nil
    }

    private mutating func finishLiteral(form: IMAPLiteralForm, binary: Bool) -> IMAPCommandFramerEvent? {
        // literal = CHAR8 (no NUL); only literal8 may carry NUL (RFC 3516).
        if !binary && tokenBytes.contains(0) {
            let failure = IMAPFramingFailure(tag: tag, error: .syntax("NUL in literal"), isFatal: false)
            resetCommand()
            phase = .discarding
            return .failure(failure)
        }
        if let failure = finishToken(.literal(tokenBytes, form: form, binary: binary)) { return failure }
        phase = .separator
        return nil
    }

    private mutating func finishLine() -> IMAPCommandFramerEvent {
        guard lists.count == 1 else { return lineEndFailure(.syntax("unclosed list"), sawCR: false) }
        guard let tag else { return lineEndFailure(.invalidTag, sawCR: false) }
        var arguments = lists[0]
        guard !arguments.isEmpty else { return lineEndFailure(.missingCommand, sawCR: false) }
        let first = arguments.removeFirst()
        let nameBytes: [UInt8]
        switch first {
        case .atom(let bytes): nameBytes = bytes
        case .nilValue: nameBytes = Array("NIL".utf8)
        case .quoted, .literal, .list: return lineEndFailure(.syntax("command name expected"), sawCR: false)
        }
        let name = String(decoding: nameBytes.map(IMAPGrammar.upper), as: UTF8.self)
        resetCommand()
        return .command(IMAPCommand(tag: tag, name: name, arguments: arguments))
    }

    private mutating func resetCommand() {
        phase = .lineStart
        tagBytes = []
        tag = nil
        tokenBytes = []
        lists = [[]]
        tokenCount = 0
        lineBytes = 0
        literalBytes = 0
        discardTail = []
    }

    // MARK: - Failures

    private mutating func syntaxError(_ text: String) -> IMAPCommandFramerEvent {
        failLine(.syntax(text))
    }

    /// A non-fatal failure found mid-line: skip the rest of the command.
    private mutating func failLine(_ error: IMAPFramingError) -> IMAPCommandFramerEvent {
        let failure = IMAPFramingFailure(tag: tag, error: error, isFatal: false)
        let previousByte: UInt8? = readIndex > 0 ? buffer[readIndex - 1] : nil
        resetCommand()
        phase = .discarding
        if let previousByte { discardByte(previousByte) }
        return .failure(failure)
    }

    /// A non-fatal failure found on the line's last byte: the next line is new.
    private mutating func lineEndFailure(_ error: IMAPFramingError, sawCR: Bool) -> IMAPCommandFramerEvent {
        let failure = IMAPFramingFailure(tag: tag, error: error, isFatal: false)
        resetCommand()
        if sawCR { phase = .discarding }  // swallow the LF that follows
        return .failure(failure)
    }

    private mutating func fail(_ error: IMAPFramingError, fatal: Bool) -> IMAPFramingFailure {
        let failure = IMAPFramingFailure(tag: tag, error: error, isFatal: fatal)
        if fatal {
            phase = .failed(failure)
            buffer = []
            readIndex = 0
            lineScanIndex = 0
        }
        return failure
    }

    /// Skips one byte of a refused line; at its end, skips a non-synchronising
    /// literal the line announced, so the literal's bytes are not read as commands.
    private mutating func discardByte(_ byte: UInt8) {
        guard byte == 0x0A else {
            if byte != 0x0D {
                discardTail.append(byte)
                if discardTail.count > 24 { discardTail.removeFirst(discardTail.count - 24) }
            }
            return
        }
        let announced = IMAPGrammar.trailingNonSynchronizingLiteral(discardTail)
        discardTail = []
        lineBytes = 0
        switch announced {
        case .none:
            phase = .lineStart
        case .some(let size):
            if size <= limits.maxLiteralSize {
                phase = .discardingLiteral(remaining: size)
            } else {
                _ = fail(.literalTooLarge(announced: size, synchronizing: false), fatal: true)
            }
        }
    }

    private mutating func compactIfNeeded() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.count <= 65536)
            readIndex = 0
            lineScanIndex = 0
        } else if readIndex > 4096 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            lineScanIndex = max(0, lineScanIndex - readIndex)
            readIndex = 0
        }
    }
}
