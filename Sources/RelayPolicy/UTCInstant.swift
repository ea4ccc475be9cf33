// UTC instants and calendar days as plain integers: microseconds and days since
// 1970-01-01T00:00:00Z (PostgreSQL's timestamptz resolution). Nothing here reads a clock:
// callers pass `now`. POSIX time has no leap seconds, so every minute is 60 s and every day
// 86,400 s; there is no time zone and no DST anywhere in this module. Arithmetic saturates at
// the Int64 range instead of trapping. Civil dates use the proleptic Gregorian calendar.
import MailCore

/// One instant, UTC, to the microsecond.
public struct UTCInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    public init(secondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = Saturating.multiply(secondsSinceEpoch, 1_000_000)
    }

    /// A civil UTC time; nil when a field is out of range (year 1...9999, real month days).
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0,
                 microsecond: Int = 0) {
        guard let date = UTCDate(year: year, month: month, day: day),
              (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second),
              (0...999_999).contains(microsecond) else { return nil }
        let secondsOfDay = Int64(hour * 3600 + minute * 60 + second)
        self.microsecondsSinceEpoch = date.start.microsecondsSinceEpoch + secondsOfDay * 1_000_000 + Int64(microsecond)
    }

    public static func < (lhs: UTCInstant, rhs: UTCInstant) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// The UTC calendar day this instant falls on.
    public var date: UTCDate {
        UTCDate(daysSinceEpoch: Saturating.floorDivide(microsecondsSinceEpoch, UTCDate.microsecondsPerDay))
    }

    /// Hour, minute, second and microsecond within the UTC day.
    public var timeOfDay: (hour: Int, minute: Int, second: Int, microsecond: Int) {
        let micros = Saturating.floorModulo(microsecondsSinceEpoch, UTCDate.microsecondsPerDay)
        let seconds = Int(micros / 1_000_000)
        return (seconds / 3600, seconds / 60 % 60, seconds % 60, Int(micros % 1_000_000))
    }

    public func advanced(by duration: Duration) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Saturating.add(microsecondsSinceEpoch, duration.saturatingMicroseconds))
    }

    public static func + (lhs: UTCInstant, rhs: Duration) -> UTCInstant { lhs.advanced(by: rhs) }

    public static func - (lhs: UTCInstant, rhs: Duration) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Saturating.subtract(lhs.microsecondsSinceEpoch, rhs.saturatingMicroseconds))
    }

    /// `self - earlier` as a Duration (negative when `earlier` is later).
    public func duration(since earlier: UTCInstant) -> Duration {
        .microseconds(Saturating.subtract(microsecondsSinceEpoch, earlier.microsecondsSinceEpoch))
    }

    /// ISO 8601, e.g. `2026-11-03T14:00:00Z`; six fraction digits only when the instant has any.
    public var description: String {
        let time = timeOfDay
        var text = "\(date)T\(Self.pad(time.hour, 2)):\(Self.pad(time.minute, 2)):\(Self.pad(time.second, 2))"
        if time.microsecond != 0 { text += "." + Self.pad(time.microsecond, 6) }
        return text + "Z"
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// One UTC calendar day.
public struct UTCDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    static let microsecondsPerDay: Int64 = 86_400_000_000

    public var daysSinceEpoch: Int64

    public init(daysSinceEpoch: Int64) {
        self.daysSinceEpoch = daysSinceEpoch
    }

    /// nil for an impossible date (2026-02-29) or a year outside 1...9999.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...Self.daysIn(month: month, year: year)).contains(day) else { return nil }
        self.daysSinceEpoch = CivilCalendar.days(year: year, month: month, day: day)
    }

    public static func < (lhs: UTCDate, rhs: UTCDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    /// Year, month (1...12) and day (1...31).
    public var civil: (year: Int, month: Int, day: Int) { CivilCalendar.civil(days: daysSinceEpoch) }

    /// Midnight UTC at the start of this day.
    public var start: UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Saturating.multiply(daysSinceEpoch, Self.microsecondsPerDay))
    }

    public func adding(days: Int64) -> UTCDate {
        UTCDate(daysSinceEpoch: Saturating.add(daysSinceEpoch, days))
    }

    /// `2026-11-01`.
    public var description: String {
        let parts = civil
        return "\(UTCInstant.pad(parts.year, 4))-\(UTCInstant.pad(parts.month, 2))-\(UTCInstant.pad(parts.day, 2))"
    }

    static func daysIn(month: Int, year: Int) -> Int { CivilCalendar.daysIn(month: month, year: year) }
}

extension Duration {
    /// Whole microseconds, truncated toward zero, saturating at the Int64 range.
    var saturatingMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return Saturating.add(Saturating.multiply(seconds, 1_000_000), attoseconds / 1_000_000_000_000)
    }
}

/// Int64 arithmetic that clamps instead of trapping, and division that rounds toward -infinity.
enum Saturating {
    static func add(_ lhs: Int64, _ rhs: Int64) -> Int64 {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        guard overflow else { return sum }
        return rhs > 0 ? .max : .min
    }

    static func subtract(_ lhs: Int64, _ rhs: Int64) -> Int64 {
        let (difference, overflow) = lhs.subtractingReportingOverflow(rhs)
        guard overflow else { return difference }
        return rhs < 0 ? .max : .min
    }

    static func multiply(_ lhs: Int64, _ rhs: Int64) -> Int64 {
        let (product, overflow) = lhs.multipliedReportingOverflow(by: rhs)
        guard overflow else { return product }
        return (lhs < 0) == (rhs < 0) ? .max : .min
    }

    static func add(_ lhs: Int, _ rhs: Int) -> Int {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        guard overflow else { return sum }
        return rhs > 0 ? .max : .min
    }

    /// Floor division for a positive divisor.
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    /// The remainder matching `floorDivide`: always in 0..<divisor.
    static func floorModulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
