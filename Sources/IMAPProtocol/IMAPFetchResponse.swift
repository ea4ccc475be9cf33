// Reads an untagged FETCH response (`* 12 FETCH (UID 40 BODY[] {n}...)`) from
// a framed response: the message sequence number, the UID and the whole-body
// section, wherever they stand among the other items.
// Contract: returns nil for anything that is not a well-formed FETCH; items it
// does not know (FLAGS, INTERNALDATE, sections with parts) are skipped.

public struct IMAPFetchResponse: Sendable, Hashable {
    public enum Body: Sendable, Hashable {
        case bytes([UInt8])
        /// The literal was larger than the framer keeps.
        case tooLarge(size: Int)
    }

    public var sequenceNumber: UInt32
    public var uid: UInt32?
    /// BODY[] (or RFC822) when present.
    public var body: Body?

    public init(sequenceNumber: UInt32, uid: UInt32?, body: Body?) {
        self.sequenceNumber = sequenceNumber
        self.uid = uid
        self.body = body
    }

    enum Token: Hashable {
        case open
        case close
        case atom([UInt8])
        case string(Body?)
    }

    /// The FETCH in `frame`, or nil when the frame is not one.
    public static func parse(_ frame: IMAPResponseFrame) -> IMAPFetchResponse? {
        guard let tokens = tokens(frame), tokens.count >= 4,
              tokens[0] == .atom([UInt8(ascii: "*")]),
              case .atom(let number) = tokens[1], let sequence = uint32(number),
              case .atom(let word) = tokens[2], IMAPGrammar.equalsIgnoringCase(word, "FETCH"),
              tokens[3] == .open else { return nil }
        var result = IMAPFetchResponse(sequenceNumber: sequence, uid: nil, body: nil)
        var index = 4
        while index < tokens.count {
            if tokens[index] == .close { return index == tokens.count - 1 ? result : nil }
            guard case .atom(let name) = tokens[index], index + 1 < tokens.count else { return nil }
            index += 1
            if IMAPGrammar.equalsIgnoringCase(name, "UID") {
                guard case .atom(let digits) = tokens[index], let uid = uint32(digits), uid > 0 else { return nil }
                result.uid = uid
                index += 1
            } else if IMAPGrammar.equalsIgnoringCase(name, "BODY[]") || IMAPGrammar.equalsIgnoringCase(name, "RFC822") {
                switch tokens[index] {
                case .string(let body): result.body = body ?? .bytes([])
                case .atom(let value) where IMAPGrammar.isNil(value): result.body = .bytes([])
                case .atom, .open, .close: return nil
                }
                index += 1
            } else {
                guard let after = skipValue(tokens, from: index) else { return nil }
                index = after
            }
        }
        return nil
    }

    /// The index after the value starting at `start` (an atom, a string or a parenthesised list).
    static func skipValue(_ tokens: [Token], from start: Int) -> Int? {
        var depth = 0
        var index = start
        while index < tokens.count {
            switch tokens[index] {
            case .open: depth += 1
            case .close:
                guard depth > 0 else { return nil }
                depth -= 1
            case .atom, .string: break
            }
            index += 1
            if depth == 0 { return index }
        }
        return nil
    }

    static func uint32(_ digits: [UInt8]) -> UInt32? {
        guard digits.count <= 10, let value = IMAPGrammar.parseNumber(digits), value <= Int(UInt32.max) else { return nil }
        return UInt32(value)
    }

    // MARK: Tokens

    static func tokens(_ frame: IMAPResponseFrame) -> [Token]? {
        guard frame.segments.count == frame.literals.count + 1 else { return nil }
        var tokens: [Token] = []
        for (position, segment) in frame.segments.enumerated() {
            var line = segment[...]
            if position < frame.literals.count {
                // Drop the `{n}` (or `~{n}`, `{n+}`) that announces the literal.
                guard let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
                line = line[..<open]
                if line.last == UInt8(ascii: "~") { line = line.dropLast() }
            }
            guard tokenize(line, into: &tokens) else { return nil }
            if position < frame.literals.count {
                let size = position < frame.literalSizes.count ? frame.literalSizes[position] : 0
                tokens.append(.string(frame.literals[position].map { .bytes($0) } ?? .tooLarge(size: size)))
            }
        }
        return tokens
    }

    private static func tokenize(_ line: ArraySlice<UInt8>, into tokens: inout [Token]) -> Bool {
        var index = line.startIndex
        while index < line.endIndex {
            let byte = line[index]
            switch byte {
            case 0x20:
                index += 1
            case UInt8(ascii: "("):
                tokens.append(.open)
                index += 1
            case UInt8(ascii: ")"):
                tokens.append(.close)
                index += 1
            case UInt8(ascii: "\""):
                var text: [UInt8] = []
                index += 1
                var closed = false
                while index < line.endIndex {
                    let next = line[index]
                    index += 1
                    if next == UInt8(ascii: "\\"), index < line.endIndex {
                        text.append(line[index])
                        index += 1
                    } else if next == UInt8(ascii: "\"") {
                        closed = true
                        break
                    } else {
                        text.append(next)
                    }
                }
                guard closed else { return false }
                tokens.append(.string(.bytes(text)))
            default:
                var atom: [UInt8] = []
                while index < line.endIndex {
                    let next = line[index]
                    if next == 0x20 || next == UInt8(ascii: "(") || next == UInt8(ascii: ")") { break }
                    if next == UInt8(ascii: "[") {
                        // A section spec may hold spaces and parentheses: keep it whole.
                        guard let close = line[index...].firstIndex(of: UInt8(ascii: "]")) else { return false }
                        atom += line[index...close]
                        index = close + 1
                        continue
                    }
                    atom.append(next)
                    index += 1
                }
                tokens.append(.atom(atom))
            }
        }
        return true
    }
}
