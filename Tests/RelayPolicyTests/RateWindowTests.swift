// Window starts (the email_rate_counters key) around every boundary: xx:59:59.999, the last
// microsecond before midnight, midnight itself, year and leap-day ends, before the epoch, and
// across both European DST changes of 2026 (irrelevant in UTC, checked anyway).
import RelayPolicy
import Testing

@Suite struct RateWindowTests {
    @Test(arguments: [
        // instant, kind, expected window start
        (utc(2026, 11, 3, 14, 59, 59, micro: 999_000), RateWindowKind.minute, utc(2026, 11, 3, 14, 59)),
        (utc(2026, 11, 3, 14, 59, 59, micro: 999_000), .hour, utc(2026, 11, 3, 14)),
        (utc(2026, 11, 3, 14, 59, 59, micro: 999_000), .day, utc(2026, 11, 3)),
        (utc(2026, 11, 3, 15), .minute, utc(2026, 11, 3, 15)),
        (utc(2026, 11, 3, 15), .hour, utc(2026, 11, 3, 15)),
        (utc(2026, 11, 3, 15, 0, 0, micro: 1), .hour, utc(2026, 11, 3, 15)),
        (utc(2026, 11, 3, 23, 59, 59, micro: 999_999), .minute, utc(2026, 11, 3, 23, 59)),
        (utc(2026, 11, 3, 23, 59, 59, micro: 999_999), .hour, utc(2026, 11, 3, 23)),
        (utc(2026, 11, 3, 23, 59, 59, micro: 999_999), .day, utc(2026, 11, 3)),
        (utc(2026, 11, 4), .minute, utc(2026, 11, 4)),
        (utc(2026, 11, 4), .hour, utc(2026, 11, 4)),
        (utc(2026, 11, 4), .day, utc(2026, 11, 4)),
        (utc(2026, 12, 31, 23, 59, 59, micro: 999_999), .day, utc(2026, 12, 31)),
        (utc(2027, 1, 1), .day, utc(2027, 1, 1)),
        (utc(2028, 2, 29, 12, 30), .day, utc(2028, 2, 29)),
        (utc(2028, 3, 1), .day, utc(2028, 3, 1)),
        (utc(2026, 11, 3, 14, 30, 30), .minute, utc(2026, 11, 3, 14, 30)),
        (utc(2026, 11, 3, 14, 30, 30), .hour, utc(2026, 11, 3, 14)),
        // Europe moves clocks at 01:00 UTC on 2026-03-29 and 2026-10-25: UTC windows do not notice.
        (utc(2026, 3, 29, 0, 59, 59, micro: 999_999), .hour, utc(2026, 3, 29, 0)),
        (utc(2026, 3, 29, 1), .hour, utc(2026, 3, 29, 1)),
        (utc(2026, 3, 29, 1, 30), .hour, utc(2026, 3, 29, 1)),
        (utc(2026, 3, 29, 2, 30), .hour, utc(2026, 3, 29, 2)),
        (utc(2026, 3, 29, 23, 59), .day, utc(2026, 3, 29)),
        (utc(2026, 10, 25, 0, 59, 59, micro: 999_999), .hour, utc(2026, 10, 25, 0)),
        (utc(2026, 10, 25, 1, 30), .hour, utc(2026, 10, 25, 1)),
        (utc(2026, 10, 25, 2, 30), .hour, utc(2026, 10, 25, 2)),
        (utc(2026, 10, 25, 23, 59, 59), .day, utc(2026, 10, 25)),
        (UTCInstant(microsecondsSinceEpoch: -1), .minute, utc(1969, 12, 31, 23, 59)),
        (UTCInstant(microsecondsSinceEpoch: -1), .day, utc(1969, 12, 31)),
    ])
    func windowStart(instant: UTCInstant, kind: RateWindowKind, start: UTCInstant) {
        #expect(kind.start(containing: instant) == start)
    }

    @Test(arguments: [
        (utc(2026, 11, 3, 14, 59, 59, micro: 999_000), RateWindowKind.minute, utc(2026, 11, 3, 15)),
        (utc(2026, 11, 3, 14, 59, 59, micro: 999_000), .hour, utc(2026, 11, 3, 15)),
        (utc(2026, 11, 3, 14, 59, 59, micro: 999_000), .day, utc(2026, 11, 4)),
        (utc(2026, 11, 3, 15), .hour, utc(2026, 11, 3, 16)),
        (utc(2026, 12, 31, 23, 59, 59, micro: 999_999), .day, utc(2027, 1, 1)),
        (utc(2026, 10, 24, 12), .day, utc(2026, 10, 25)),
    ])
    func windowEnd(instant: UTCInstant, kind: RateWindowKind, end: UTCInstant) {
        #expect(kind.end(containing: instant) == end)
    }

    @Test func everyDayAcrossBothDSTChangesIsExactly24Hours() {
        var lengths: Set<Duration> = []
        var day = date(2026, 3, 27)
        while day <= date(2026, 10, 27) {
            lengths.insert(RateWindowKind.day.end(containing: day.start).duration(since: day.start))
            day = day.adding(days: 1)
        }
        #expect(lengths == [.hours(24)])
    }

    @Test(arguments: RateWindowKind.allCases)
    func keysMatchTheMigrationVocabulary(kind: RateWindowKind) {
        #expect(["minute", "hour", "day"].contains(kind.rawValue))
        #expect(kind.key(containing: utc(2026, 11, 3, 14, 5, 6)).kind == kind)
    }

    @Test func keyText() {
        #expect(RateWindowKind.hour.key(containing: utc(2026, 11, 3, 14, 5)).description == "hour@2026-11-03T14:00:00Z")
    }

    @Test func countsOnlyTheWindowsThatContainNow() {
        let stale = RateWindowKind.minute.key(containing: utc(2026, 11, 3, 14, 58))
        let current = RateWindowKind.minute.key(containing: utc(2026, 11, 3, 14, 59))
        let counters = RateCounters([stale: 20, current: 3])
        #expect(counters.count(.minute, at: utc(2026, 11, 3, 14, 59, 59, micro: 999_000)) == 3)
        #expect(counters.count(.minute, at: utc(2026, 11, 3, 15)) == 0)
    }

    @Test func recordCountsInAllThreeWindows() {
        var counters = RateCounters()
        counters.record(2, at: utc(2026, 11, 3, 14, 59, 59, micro: 999_000))
        counters.record(1, at: utc(2026, 11, 3, 15))
        #expect(counters.sent == [
            RateWindowKind.minute.key(containing: utc(2026, 11, 3, 14, 59)): 2,
            RateWindowKind.hour.key(containing: utc(2026, 11, 3, 14)): 2,
            RateWindowKind.minute.key(containing: utc(2026, 11, 3, 15)): 1,
            RateWindowKind.hour.key(containing: utc(2026, 11, 3, 15)): 1,
            RateWindowKind.day.key(containing: utc(2026, 11, 3)): 3,
        ])
    }

    @Test func recordIgnoresNothingAndNegatives() {
        var counters = RateCounters()
        counters.record(0, at: utc(2026, 11, 3))
        counters.record(-4, at: utc(2026, 11, 3))
        #expect(counters.sent.isEmpty)
    }

    @Test func negativeStoredCountsReadAsZero() {
        let key = RateWindowKind.day.key(containing: utc(2026, 11, 3))
        #expect(RateCounters([key: -7]).count(.day, at: utc(2026, 11, 3, 9)) == 0)
    }

    @Test func countsSaturate() {
        var counters = RateCounters([RateWindowKind.day.key(containing: utc(2026, 11, 3)): .max - 1])
        counters.record(5, at: utc(2026, 11, 3, 9))
        #expect(counters.count(.day, at: utc(2026, 11, 3, 9)) == .max)
    }

    @Test func pruneDropsEndedWindowsOnly() {
        var counters = RateCounters()
        counters.record(1, at: utc(2026, 11, 3, 14, 59, 30))
        counters.prune(before: utc(2026, 11, 3, 15))
        #expect(counters.sent == [RateWindowKind.day.key(containing: utc(2026, 11, 3)): 1])
    }
}
