// Durations ("30s", "5m", "1h30m", "250ms") and byte sizes ("35M", "512K", 1024)
// as written in the config. Durations are Swift's own `Duration`; sizes use
// binary multiples (K = 1024). Parsers refuse overflow, signs, spaces, fractions
// and a bare number without a unit for durations (is 30 seconds or minutes?).

/// Reads and writes the config's duration syntax: one or more `<digits><unit>`
/// with unit `ms`, `s`, `m`, `h` or `d`, largest first or not (e.g. "1h30m").
public enum DurationText {
    /// nil when `text` is not a duration.
    public static func parse(_ text: String) -> Duration? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        var totalMilliseconds: Int64 = 0
        var index = 0
        while index < bytes.count {
            var number: Int64 = 0
            let digitsStart = index
            while index < bytes.count, let digit = digitValue(bytes[index]) {
                let (shifted, overflow1) = number.multipliedReportingOverflow(by: 10)
                let (added, overflow2) = shifted.addingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { return nil }
                number = added
                index += 1
            }
            guard index > digitsStart, index < bytes.count else { return nil }
            let unitMilliseconds: Int64
            switch bytes[index] {
            case UInt8(ascii: "m"):
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "s") {
                    unitMilliseconds = 1
                    index += 2
                } else {
                    unitMilliseconds = 60_000
                    index += 1
                }
            case UInt8(ascii: "s"): unitMilliseconds = 1_000; index += 1
            case UInt8(ascii: "h"): unitMilliseconds = 3_600_000; index += 1
            case UInt8(ascii: "d"): unitMilliseconds = 86_400_000; index += 1
            default: return nil
            }
            let (part, overflow3) = number.multipliedReportingOverflow(by: unitMilliseconds)
            let (sum, overflow4) = totalMilliseconds.addingReportingOverflow(part)
            guard !overflow3, !overflow4 else { return nil }
            totalMilliseconds = sum
        }
        return .milliseconds(totalMilliseconds)
    }

    /// The shortest config spelling of a whole number of milliseconds: "1h30m", "250ms", "0s".
    public static func render(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        // Wrapping is fine: durations come from `parse`, which caps them far below Int64.
        var milliseconds = seconds &* 1_000 &+ attoseconds / 1_000_000_000_000_000
        if milliseconds == 0 { return "0s" }
        var text = ""
        if milliseconds < 0 {
            text = "-"
            milliseconds = 0 &- milliseconds
        }
        let units: [(Int64, String)] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")]
        for (size, name) in units where milliseconds >= size {
            text += "\(milliseconds / size)\(name)"
            milliseconds %= size
        }
        return text
    }

    private static func digitValue(_ byte: UInt8) -> Int64? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int64(byte - UInt8(ascii: "0")) : nil
    }
}

/// A size in bytes, written as an integer (bytes) or a string "512K", "35M", "1G"
/// (binary multiples, either letter case).
public struct ByteSize: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var bytes: Int

    public init(bytes: Int) {
        self.bytes = bytes
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// nil when `text` is not `<digits>` optionally followed by K, M or G.
    public static func parse(_ text: String) -> ByteSize? {
        var bytes = Array(text.utf8)
        guard let last = bytes.last else { return nil }
        var multiplier = 1
        switch last {
        case UInt8(ascii: "K"), UInt8(ascii: "k"): multiplier = 1 << 10
        case UInt8(ascii: "M"), UInt8(ascii: "m"): multiplier = 1 << 20
        case UInt8(ascii: "G"), UInt8(ascii: "g"): multiplier = 1 << 30
        default: break
        }
        if multiplier != 1 { bytes.removeLast() }
        guard !bytes.isEmpty else { return nil }
        var number = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (shifted, overflow1) = number.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            number = added
        }
        let (total, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : ByteSize(bytes: total)
    }

    /// "35M" when the size is a whole number of M (or G, K), else the byte count.
    public var description: String {
        for (size, name) in [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")] where bytes != 0 && bytes % size == 0 {
            return "\(bytes / size)\(name)"
        }
        return "\(bytes)"
    }
}
