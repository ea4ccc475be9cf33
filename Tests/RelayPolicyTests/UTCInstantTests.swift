// UTC instants and dates: civil conversion against known day numbers, leap years, rejection of
// impossible fields, ISO text, negative instants, saturation instead of traps.
import RelayPolicy
import Testing

@Suite struct UTCInstantTests {
    @Test(arguments: [
        (1970, 1, 1, Int64(0)), (1969, 12, 31, -1), (2000, 2, 29, 11016), (2000, 3, 1, 11017),
        (2026, 3, 29, 20541), (2026, 10, 25, 20751), (2026, 11, 1, 20758), (1, 1, 1, -719_162),
        (9999, 12, 31, 2_932_896),
    ])
    func civilDateToDayNumber(year: Int, month: Int, day: Int, days: Int64) {
        #expect(UTCDate(year: year, month: month, day: day)?.daysSinceEpoch == days)
    }

    @Test func everyDayFromYear1600To2400RoundTrips() {
        var mismatches = 0
        for days in Int64(-135_140)...Int64(157_000) {
            let civil = UTCDate(daysSinceEpoch: days).civil
            if UTCDate(year: civil.year, month: civil.month, day: civil.day)?.daysSinceEpoch != days { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test(arguments: [
        (2026, 2, 29), (2100, 2, 29), (1900, 2, 29), (2026, 4, 31), (2026, 13, 1), (2026, 0, 1),
        (2026, 1, 0), (2026, 1, 32), (0, 1, 1), (10000, 1, 1), (-5, 1, 1),
    ])
    func impossibleDatesAreRefused(year: Int, month: Int, day: Int) {
        #expect(UTCDate(year: year, month: month, day: day) == nil)
    }

    @Test(arguments: [(2024, 2, 29), (2000, 2, 29), (2026, 12, 31), (2026, 4, 30)])
    func realDatesAreAccepted(year: Int, month: Int, day: Int) {
        #expect(UTCDate(year: year, month: month, day: day) != nil)
    }

    @Test(arguments: [(24, 0, 0, 0), (0, 60, 0, 0), (0, 0, 60, 0), (0, 0, 0, 1_000_000), (-1, 0, 0, 0)])
    func impossibleTimesAreRefused(hour: Int, minute: Int, second: Int, micro: Int) {
        #expect(UTCInstant(year: 2026, month: 11, day: 3, hour: hour, minute: minute, second: second,
                           microsecond: micro) == nil)
    }

    @Test(arguments: [
        (utc(2026, 11, 3, 14), "2026-11-03T14:00:00Z"),
        (utc(2026, 11, 3, 14, 59, 59, micro: 999_000), "2026-11-03T14:59:59.999000Z"),
        (utc(1970, 1, 1), "1970-01-01T00:00:00Z"),
        (UTCInstant(microsecondsSinceEpoch: -1), "1969-12-31T23:59:59.999999Z"),
        (utc(2000, 2, 29, 23, 59, 59), "2000-02-29T23:59:59Z"),
    ])
    func isoText(instant: UTCInstant, text: String) {
        #expect(instant.description == text)
    }

    @Test func secondsSinceEpochMatchesCivil() {
        #expect(UTCInstant(secondsSinceEpoch: 1_793_714_400) == utc(2026, 11, 3, 14))
    }

    @Test func timeOfDayBeforeTheEpochIsFloored() {
        let instant = UTCInstant(microsecondsSinceEpoch: -1)
        #expect(instant.date == date(1969, 12, 31))
        #expect(instant.timeOfDay == (23, 59, 59, 999_999))
    }

    @Test func durationArithmetic() {
        let start = utc(2026, 11, 3, 14)
        #expect(start + .minutes(90) == utc(2026, 11, 3, 15, 30))
        #expect(start - .hours(15) == utc(2026, 11, 2, 23))
        #expect(utc(2026, 11, 3, 15, 30).duration(since: start) == .minutes(90))
        #expect(start.duration(since: utc(2026, 11, 3, 15, 30)) == .minutes(-90))
    }

    @Test func arithmeticSaturatesInsteadOfTrapping() {
        #expect(UTCInstant(microsecondsSinceEpoch: .max - 5) + .seconds(1) == UTCInstant(microsecondsSinceEpoch: .max))
        #expect(UTCInstant(microsecondsSinceEpoch: .min + 5) - .seconds(1) == UTCInstant(microsecondsSinceEpoch: .min))
        #expect(UTCInstant(secondsSinceEpoch: .max).microsecondsSinceEpoch == .max)
        #expect(UTCInstant(secondsSinceEpoch: .min).microsecondsSinceEpoch == .min)
        #expect(UTCInstant(microsecondsSinceEpoch: 0) + .seconds(Int64.max) == UTCInstant(microsecondsSinceEpoch: .max))
    }
}
