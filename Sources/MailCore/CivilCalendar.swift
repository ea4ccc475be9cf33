// Proleptic Gregorian calendar arithmetic on day counts since 1970-01-01, in
// integers and without Foundation (Howard Hinnant's days_from_civil and
// civil_from_days, valid for any year), and the one fixed-width date-time
// formatter. The one copy every date in mailgate uses: RFC 3339 and RFC 5322
// stamps, DSN and HTTP dates, rate windows.

public enum CivilCalendar {
    /// Days since 1970-01-01 (negative before) of year-month-day; the fields are not checked.
    public static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The year, month (1...12) and day (1...31) of a day count since 1970-01-01.
    public static func civil(days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        return (Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0), month, day)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    /// "Thu, 01 Jan 1970 00:00:00 " + `zone`: the fixed-width date-time of RFC 5322 §3.3 (zone
    /// "+0000") and of HTTP's IMF-fixdate (zone "GMT"), in UTC, for `unixSeconds` clamped to the
    /// years 1970-9999.
    public static func fixedDate(unixSeconds: Int64, zone: String) -> String {
        let seconds = min(max(unixSeconds, 0), 253_402_300_799)
        let dayCount = seconds / 86_400
        let secondOfDay = seconds % 86_400
        let (year, month, day) = civil(days: dayCount)
        func two(_ number: Int64) -> String { number < 10 ? "0\(number)" : "\(number)" }
        return "\(weekdays[Int(dayCount % 7)]), \(two(Int64(day))) \(months[month - 1]) \(year) "
            + "\(two(secondOfDay / 3_600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) \(zone)"
    }

    /// From 1970-01-01, a Thursday.
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
