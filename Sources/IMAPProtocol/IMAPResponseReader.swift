// Incremental reader of server responses (for mailgate as an IMAP client
// logging in): IMAPResponseFramer frames them, skipping literals, and this
// parses status responses, their [CODE args] and untagged CAPABILITY lists.
// Contract: append bytes in any split, call next() until needMoreBytes. Lines
// are bounded by maxResponseLength and skipped literals by maxLiteralSize.

/// The status of a status response (RFC 9051 §7.1).
public enum IMAPResponseStatus: String, Sendable, Hashable {
    case ok = "OK", no = "NO", bad = "BAD", bye = "BYE", preauth = "PREAUTH"
}

/// One server response, parsed as far as a login client needs.
public struct IMAPServerResponse: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case continuation
        case untagged
        case tagged(String)
    }

    public var kind: Kind
    /// Set for status responses (OK, NO, BAD, BYE, PREAUTH).
    public var status: IMAPResponseStatus?
    /// The response code's words, e.g. ["CAPABILITY", "IMAP4rev1", ...] or ["AUTHENTICATIONFAILED"].
    public var code: [String]
    /// The human-readable text (status responses) or the continuation's text.
    public var text: String
    /// For untagged data responses, the words of the line, e.g. ["CAPABILITY", "IMAP4rev1", ...].
    public var data: [String]

    /// The capability list this response carries (untagged CAPABILITY data or a CAPABILITY code).
    public var capabilities: [String]? {
        if data.first?.uppercased() == "CAPABILITY" { return Array(data.dropFirst()) }
        if code.first?.uppercased() == "CAPABILITY" { return Array(code.dropFirst()) }
        return nil
    }

    /// The response code's name upper-cased ("AUTHENTICATIONFAILED"), if any.
    public var codeName: String? { code.first?.uppercased() }
}

public enum IMAPResponseEvent: Sendable, Hashable {
    case needMoreBytes
    case response(IMAPServerResponse)
    /// A line or literal over the limits, or bytes that are not IMAP: fatal.
    case failure(String)
}

public struct IMAPResponseReader: Sendable {
    /// Literals are read past, never kept; one announced above `maxLiteralSize` is fatal.
    private var framer: IMAPResponseFramer
    private var failed: String?

    public init(maxResponseLength: Int = 65536, maxLiteralSize: Int = 1 << 20) {
        framer = IMAPResponseFramer(maxLineLength: maxResponseLength, maxLiteralSize: 0,
                                    literalSizeLimit: maxLiteralSize)
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        framer.append(bytes)
    }

    /// Bytes queued but not yet consumed.
    public var bufferedByteCount: Int { framer.bufferedByteCount }

    /// Hands over every unconsumed byte (for the relay after login).
    public mutating func takeRemainingBytes() -> [UInt8] { framer.takeRemainingBytes() }

    public mutating func next() -> IMAPResponseEvent {
        if let failed { return .failure(failed) }
        switch framer.next() {
        case .needMoreBytes:
            return .needMoreBytes
        case .failure(let reason):
            return .failure(reason)
        case .frame(let frame):
            guard let response = Self.parse(frame.segments.first ?? []) else {
                failed = "not an IMAP response"
                return .failure("not an IMAP response")
            }
            return .response(response)
        }
    }

    /// `{n}` or `{n+}` (also `~{n}`) at the end of a line: the size, saturating.
    static func trailingLiteralSize(_ line: [UInt8]) -> Int? {
        guard line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
        var digits = line[(open + 1)..<(line.count - 1)]
        if digits.last == UInt8(ascii: "+") { digits = digits.dropLast() }
        return IMAPGrammar.parseNumber(digits)
    }

    /// Parses one response line (without CRLF); nil when it is not IMAP.
    static func parse(_ line: [UInt8]) -> IMAPServerResponse? {
        if line.first == UInt8(ascii: "+") {
            let text = line.count > 2 ? String(decoding: line[2...], as: UTF8.self) : ""
            return IMAPServerResponse(kind: .continuation, status: nil, code: [], text: text, data: [])
        }
        guard let space = line.firstIndex(of: 0x20), space > 0 else { return nil }
        let tagBytes = line[..<space]
        let kind: IMAPServerResponse.Kind
        if tagBytes.elementsEqual([UInt8(ascii: "*")]) {
            kind = .untagged
        } else {
            guard tagBytes.allSatisfy(IMAPGrammar.isTagChar) else { return nil }
            kind = .tagged(String(decoding: tagBytes, as: UTF8.self))
        }
        let rest = line[(space + 1)...]
        let wordEnd = rest.firstIndex(of: 0x20) ?? rest.endIndex
        let first = String(decoding: rest[..<wordEnd].map(IMAPGrammar.upper), as: UTF8.self)
        guard let status = IMAPResponseStatus(rawValue: first) else {
            guard case .untagged = kind else { return nil }
            let words = rest.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
            return IMAPServerResponse(kind: kind, status: nil, code: [], text: "", data: words)
        }
        var textStart = wordEnd < rest.endIndex ? wordEnd + 1 : rest.endIndex
        var code: [String] = []
        if textStart < rest.endIndex, rest[textStart] == UInt8(ascii: "["),
           let close = rest[textStart...].firstIndex(of: UInt8(ascii: "]")) {
            code = rest[(textStart + 1)..<close].split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
            textStart = close + 1
            if textStart < rest.endIndex, rest[textStart] == 0x20 { textStart += 1 }
        }
        let text = String(decoding: rest[textStart...], as: UTF8.self)
        return IMAPServerResponse(kind: kind, status: status, code: code, text: text, data: [])
    }
}
