// The five delivery priority classes shared by submission, config and the queue, with the
// RFC 6710 MT-PRIORITY mapping. Ordered: critical > high > normal > low > bulk.

/// Delivery priority classes, highest first. `Comparable`: `.bulk < .low < .normal < .high < .critical`.
public enum MessagePriority: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case bulk = 0
    case low = 1
    case normal = 2
    case high = 3
    case critical = 4

    public static func < (lhs: MessagePriority, rhs: MessagePriority) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The lower-case name used in config files and the X-Mailgate-Priority header.
    public var name: String {
        switch self {
        case .bulk: "bulk"
        case .low: "low"
        case .normal: "normal"
        case .high: "high"
        case .critical: "critical"
        }
    }

    public var description: String { name }

    /// The email_queue/email_sends `priority` column: 0 critical ... 4 bulk (migration 0002),
    /// the reverse of `rawValue`, so that the ready index sorts the most urgent first.
    public var queueColumnValue: Int16 { Int16(4 - rawValue) }

    /// The class stored as `queueColumnValue`; nil outside 0...4.
    public init?(queueColumnValue: Int16) {
        guard (0...4).contains(queueColumnValue) else { return nil }
        self.init(rawValue: 4 - Int(queueColumnValue))
    }

    /// Parses a class name, ASCII case-insensitive, surrounding blanks ignored.
    public init?(name: some StringProtocol) {
        var trimmed = Substring(name)
        while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        let wanted = trimmed.lowercased()
        guard let found = MessagePriority.allCases.first(where: { $0.name == wanted }) else { return nil }
        self = found
    }

    /// RFC 6710 MT-PRIORITY (-9...9) onto our classes. 0 is the RFC's default (normal); the
    /// MIXER profile's "urgent" (4) lands in high and "non-urgent" (-4) in low:
    /// 5...9 critical, 1...4 high, 0 normal, -4...-1 low, -9...-5 bulk.
    public init(mtPriority: Int) {
        switch mtPriority {
        case 5...: self = .critical
        case 1...4: self = .high
        case 0: self = .normal
        case -4 ... -1: self = .low
        default: self = .bulk
        }
    }
}
