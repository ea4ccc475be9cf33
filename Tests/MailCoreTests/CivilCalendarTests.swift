// CivilCalendar against known day counts (checked with `date -d ... +%s`), the
// leap-year rules, a round trip over every day of years 1 to 9999, and the
// fixed-width date-time (checked with `date -u -R -d @SECONDS`).
import MailCore
import Testing

@Suite struct CivilCalendarTests {
    @Test(arguments: [
        (1970, 1, 1, Int64(0)), (1969, 12, 31, -1), (2000, 2, 29, 11_016), (2000, 3, 1, 11_017),
        (2026, 11, 23, 20_780), (1900, 3, 1, -25_508), (1, 1, 1, -719_162), (9999, 12, 31, 2_932_896),
    ])
    func knownDays(year: Int, month: Int, day: Int, days: Int64) {
        #expect(CivilCalendar.days(year: year, month: month, day: day) == days)
        #expect(CivilCalendar.civil(days: days) == (year, month, day))
    }

    @Test(arguments: [(2000, true), (1900, false), (2024, true), (2026, false), (2400, true)])
    func leapYears(year: Int, leap: Bool) {
        #expect(CivilCalendar.isLeap(year) == leap)
        #expect(CivilCalendar.daysIn(month: 2, year: year) == (leap ? 29 : 28))
    }

    @Test func everyDayRoundTrips() {
        var failures = 0
        for days in CivilCalendar.days(year: 1, month: 1, day: 1)...CivilCalendar.days(year: 9999, month: 12, day: 31) {
            let (year, month, day) = CivilCalendar.civil(days: days)
            if CivilCalendar.days(year: year, month: month, day: day) != days || day > CivilCalendar.daysIn(month: month, year: year) {
                failures += 1
            }
        }
        #expect(failures == 0)
    }

    @Test(arguments: [
        (Int64(0), "+0000", "Thu, 01 Jan 1970 00:00:00 +0000"),
        (1_709_164_800, "+0000", "Thu, 29 Feb 2024 00:00:00 +0000"),
        (1_796_204_155, "GMT", "Wed, 02 Dec 2026 09:35:55 GMT"),
        (-5, "GMT", "Thu, 01 Jan 1970 00:00:00 GMT"),
        (Int64.max, "+0000", "Fri, 31 Dec 9999 23:59:59 +0000"),
    ])
    func fixedDates(seconds: Int64, zone: String, expected: String) {
        #expect(CivilCalendar.fixedDate(unixSeconds: seconds, zone: zone) == expected)
    }
}
