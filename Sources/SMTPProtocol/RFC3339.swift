// Calendar maths on Unix seconds without Foundation: RFC 3339 timestamps (HOLDUNTIL,
// FUTURERELEASE advert) and RFC 5322 dates (Received headers). UTC only on output.
// Limits: years 0001-9999; leap seconds (":60") are read as the next second.

enum RFC3339 {
    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

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
    static func formatRFC5322(_ time: Int64) -> String {
        let (dayCount, secondOfDay) = split(time)
        let date = civil(days: dayCount)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = weekdays[((dayCount % 7) + 7) % 7]
        return "\(weekday), \(date.day) \(months[date.month - 1]) \(pad(date.year, 4)) "
            + "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)) +0000"
    }

    private static func split(_ time: Int64) -> (days: Int, secondOfDay: Int) {
        let dayCount = time >= 0 ? time / 86400 : (time - 86399) / 86400
        return (Int(dayCount), Int(time - dayCount * 86400))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
