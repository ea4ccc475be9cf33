// Calendar maths on Unix seconds without Foundation: RFC 3339 timestamps (HOLDUNTIL,
// FUTURERELEASE advert) and RFC 5322 dates (Received headers). UTC only on output.
// Limits: years 0001-9999; leap seconds (":60") are read as the next second.
import MailCore

enum RFC3339 {
    static func days(year: Int, month: Int, day: Int) -> Int {
        Int(CivilCalendar.days(year: year, month: month, day: day))
    }

    static func civil(days: Int) -> (year: Int, month: Int, day: Int) { CivilCalendar.civil(days: Int64(days)) }

    static func daysInMonth(year: Int, month: Int) -> Int { CivilCalendar.daysIn(month: month, year: year) }

    /// "2026-11-23T10:00:00Z", "2026-11-23T10:00:00.5+01:00"; nil when malformed.
    static func parse(_ bytes: ArraySlice<UInt8>) -> Int64? {
        var cursor = ByteCursor(bytes)
        func number(_ digits: Int) -> Int? {
            var value = 0
            for _ in 0..<digits {
                guard let byte = cursor.peek, byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                cursor.advance()
            }
            return value
        }
        guard let year = number(4), year >= 1, cursor.take(UInt8(ascii: "-")),
              let month = number(2), (1...12).contains(month), cursor.take(UInt8(ascii: "-")),
              let day = number(2), day >= 1, day <= daysInMonth(year: year, month: month),
              cursor.take(UInt8(ascii: "T")) || cursor.take(UInt8(ascii: "t")),
              let hour = number(2), hour <= 23, cursor.take(UInt8(ascii: ":")),
              let minute = number(2), minute <= 59, cursor.take(UInt8(ascii: ":")),
              let second = number(2), second <= 60 else { return nil }
        if cursor.take(UInt8(ascii: ".")) {
            var fractionDigits = 0
            while let byte = cursor.peek, byte >= 0x30, byte <= 0x39 { cursor.advance(); fractionDigits += 1 }
            guard fractionDigits > 0 else { return nil }
        }
        var offsetSeconds = 0
        if cursor.take(UInt8(ascii: "Z")) || cursor.take(UInt8(ascii: "z")) {
            offsetSeconds = 0
        } else if let sign = cursor.peek, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            cursor.advance()
            guard let offsetHour = number(2), offsetHour <= 23, cursor.take(UInt8(ascii: ":")),
                  let offsetMinute = number(2), offsetMinute <= 59 else { return nil }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        guard cursor.isAtEnd else { return nil }
        let dayCount = days(year: year, month: month, day: day)
        return Int64(dayCount) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
    }

    static func format(_ time: Int64) -> String {
        let (dayCount, secondOfDay) = split(time)
        let date = civil(days: dayCount)
        return "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T"
            + "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))Z"
    }

    /// RFC 5322 §3.3 date-time in UTC: "Mon, 23 Nov 2026 09:35:55 +0000".
    static func formatRFC5322(_ time: Int64) -> String { CivilCalendar.fixedDate(unixSeconds: time, zone: "+0000") }

    private static func split(_ time: Int64) -> (days: Int, secondOfDay: Int) {
        let dayCount = time >= 0 ? time / 86400 : (time - 86399) / 86400
        return (Int(dayCount), Int(time - dayCount * 86400))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
