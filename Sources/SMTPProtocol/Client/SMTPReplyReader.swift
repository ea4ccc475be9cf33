// Reads upstream SMTP replies from a byte stream: "ddd-text" continuation lines then "ddd text"
// (or a bare "ddd"), every line of one reply with the same code (RFC 5321 §4.2.1). A leading
// RFC 3463 enhanced code whose class matches the reply's is split off each line.
// Contract: same result for any chunking of the input; garbage (bad code, mixed codes, a line or
// a reply over its limit) is an error, never a crash. Bare LF line ends are tolerated.

import MailCore

public enum SMTPReplyError: Error, Sendable, Hashable {
    /// A line that is not "ddd", "ddd text" or "ddd-text" with a code 200...599.
    case malformedLine(String)
    /// A continuation line carried another code than the first line of the reply.
    case mixedCodes
    case lineTooLong
    case tooManyLines
}

struct SMTPReplyReader {
    private var framer: LineFramer
    private let maxLines: Int
    private var code: Int?
    private var lines: [[UInt8]] = []

    init(maxLineLength: Int, maxLines: Int) {
        framer = LineFramer(maxLineLength: maxLineLength)
        self.maxLines = max(1, maxLines)
    }

    mutating func append(_ bytes: some Collection<UInt8>) { framer.append(bytes) }

    /// Bytes received but not yet part of a complete reply.
    var hasBufferedInput: Bool { framer.bufferedCount > 0 || !lines.isEmpty }

    /// The next complete reply, nil when more bytes are needed.
    mutating func next() -> Result<SMTPReply, SMTPReplyError>? {
        while let frame = framer.next() {
            switch frame {
            case .tooLong:
                return .failure(.lineTooLong)
            case .line(let line, _):
                guard line.count >= 3, let lineCode = Self.code(line[0], line[1], line[2]) else {
                    return .failure(.malformedLine(Self.printable(line)))
                }
                let separator: UInt8? = line.count > 3 ? line[3] : nil
                guard separator == nil || separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                    return .failure(.malformedLine(Self.printable(line)))
                }
                if let code, code != lineCode { return .failure(.mixedCodes) }
                code = lineCode
                lines.append(line.count > 4 ? Array(line[4...]) : [])
                guard lines.count <= maxLines else { return .failure(.tooManyLines) }
                if separator == UInt8(ascii: "-") { continue }
                let reply = Self.makeReply(code: lineCode, lines: lines)
                code = nil
                lines = []
                return .success(reply)
            }
        }
        return nil
    }

    private static func code(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        guard (0x32...0x35).contains(a), (0x30...0x35).contains(b), (0x30...0x39).contains(c) else { return nil }
        return Int(a - 0x30) * 100 + Int(b - 0x30) * 10 + Int(c - 0x30)
    }

    static func makeReply(code: Int, lines: [[UInt8]]) -> SMTPReply {
        let enhanced = lines.first.flatMap { enhancedCode(in: $0, replyClass: code / 100) }
        let texts = lines.map { line -> String in
            var text = line[...]
            if let enhanced, text.starts(with: enhanced.utf8) {
                text = text.dropFirst(enhanced.utf8.count)
                if text.first == UInt8(ascii: " ") { text = text.dropFirst() }
            }
            return printable(text)
        }
        return SMTPReply(code: code, enhanced: enhanced, lines: texts)
    }

    /// "c.sss.ddd" (RFC 3463: class 2/4/5 equal to the reply's, 1-3 digits each) at the start.
    static func enhancedCode(in line: [UInt8], replyClass: Int) -> String? {
        guard let first = line.first, Int(first) - 0x30 == replyClass else { return nil }
        var index = 1
        for _ in 0..<2 {
            guard index < line.count, line[index] == UInt8(ascii: ".") else { return nil }
            index += 1
            let start = index
            while index < line.count, index - start < 4, (0x30...0x39).contains(line[index]) { index += 1 }
            guard index > start, index - start <= 3 else { return nil }
        }
        guard index == line.count || line[index] == UInt8(ascii: " ") else { return nil }
        return String(decoding: line[0..<index], as: UTF8.self)
    }

    /// Reply text for logs: UTF-8 (invalid sequences replaced), control characters as "?".
    static func printable(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }
}

extension SMTPReply {
    /// All text lines joined by a space (enhanced code not included).
    public var text: String { lines.joined(separator: " ") }
    public var isPositive: Bool { (200..<300).contains(code) }
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    public var isPermanentFailure: Bool { (500..<600).contains(code) }
    public var enhancedStatus: EnhancedStatusCode? { enhanced.flatMap { EnhancedStatusCode($0) } }

    /// This reply judged as the answer at `step` (UpstreamReplyClassifier: the relay's only judge).
    public func verdict(at step: SMTPClientStep) -> UpstreamVerdict {
        UpstreamReplyClassifier.classify(code: code, enhanced: enhancedStatus, text: text, in: step.phase)
    }
}
