// RFC 3463 enhanced status codes (`class.subject.detail`, e.g. 5.7.8) as values, parsed from
// text. Shared by the upstream SMTP client (SMTPProtocol) and the reply classifier below it.
// Limits: class 2, 4 or 5 only; subject and detail 1-3 digits each (RFC 3463 §2).

/// An RFC 3463 enhanced status code, `class.subject.detail` (e.g. 5.7.8).
public struct EnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    public var statusClass: Int
    public var subject: Int
    public var detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `2.0.0`, `4.7.28`, `5.7.139`: class 2, 4 or 5, subject 1-3 digits, detail 1-3 digits.
    public init?(_ text: some StringProtocol) {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var numbers: [Int] = []
        for (index, part) in parts.enumerated() {
            let maxDigits = index == 0 ? 1 : 3
            guard (1...maxDigits).contains(part.count), part.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            numbers.append(part.reduce(0) { $0 * 10 + Int($1 - 0x30) })
        }
        guard [2, 4, 5].contains(numbers[0]) else { return nil }
        self.init(numbers[0], numbers[1], numbers[2])
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }
}
