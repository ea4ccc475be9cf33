// Character classes and small lexical helpers from the RFC 9051 grammar,
// shared by the command framer, the response parser and the writers.
// Contract: pure functions over bytes; ASCII only (8-bit bytes are never
// atom or tag characters).

enum IMAPGrammar {
    /// ATOM-CHAR: any CHAR except atom-specials ( "(" ")" "{" SP CTL "%" "*"
    /// DQUOTE "\" "]" ). We also accept "%" and "*" (list-wildcards, used as
    /// bare LIST arguments) and "\" (flags such as \Seen).
    static func isAtomChar(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x00...0x20, 0x7F...0xFF: return false
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "\""), UInt8(ascii: "]"):
            return false
        default: return true
        }
    }

    /// tag = 1*<any ASTRING-CHAR except "+">, without list-wildcards or "\".
    static func isTagChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "+"), UInt8(ascii: "%"), UInt8(ascii: "*"), UInt8(ascii: "\\"): return false
        case UInt8(ascii: "]"): return true
        default: return isAtomChar(byte)
        }
    }

    /// A strict RFC atom (what we may send without quoting).
    static func isStrictAtomChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "%"), UInt8(ascii: "*"), UInt8(ascii: "\\"): return false
        default: return isAtomChar(byte)
        }
    }

    static func upper(_ byte: UInt8) -> UInt8 {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) ? byte - 32 : byte
    }

    static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ text: String) -> Bool {
        bytes.count == text.utf8.count && zip(bytes, text.utf8).allSatisfy { upper($0) == upper($1) }
    }

    static func isNil(_ bytes: [UInt8]) -> Bool {
        equalsIgnoringCase(bytes, "NIL")
    }

    /// If `line` (without CRLF) ends with `{n+}`, `{n-}`, `~{n+}` or `~{n-}`,
    /// the announced size (saturating at Int.max); otherwise nil.
    static func trailingNonSynchronizingLiteral(_ line: [UInt8]) -> Int? {
        guard line.count >= 4, line[line.count - 1] == UInt8(ascii: "}") else { return nil }
        let marker = line[line.count - 2]
        guard marker == UInt8(ascii: "+") || marker == UInt8(ascii: "-") else { return nil }
        var index = line.count - 3
        var digits: [UInt8] = []
        while index >= 0, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "9") {
            digits.insert(line[index], at: 0)
            index -= 1
        }
        guard !digits.isEmpty, index >= 0, line[index] == UInt8(ascii: "{") else { return nil }
        return parseNumber(digits)
    }

    /// Parses ASCII digits, saturating at Int.max; nil for empty or non-digits.
    static func parseNumber(_ digits: some Collection<UInt8>) -> Int? {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            value = overflow1 || overflow2 ? Int.max : sum
        }
        return value
    }
}
