// Warm-up weeks counted in UTC days from the start date: the cap of each week at its first and
// last day, before the start (week 1's cap) and after the plan (no cap), zero-cap weeks.
import RelayPolicy
import Testing

@Suite struct WarmupScheduleTests {
    let plan = WarmupSchedule(started: date(2026, 11, 1), dailyPerWeek: [500, 1000, 2000, 5000])

    @Test(arguments: [
        (date(2025, 1, 1), 1 as Int?, 500 as Int?),   // long before the start: week 1
        (date(2026, 10, 31), 1, 500),                   // the day before
        (date(2026, 11, 1), 1, 500),                    // day 0
        (date(2026, 11, 7), 1, 500),                    // day 6: last of week 1
        (date(2026, 11, 8), 2, 1000),                   // day 7: first of week 2
        (date(2026, 11, 14), 2, 1000),
        (date(2026, 11, 15), 3, 2000),
        (date(2026, 11, 22), 4, 5000),
        (date(2026, 11, 28), 4, 5000),                  // day 27: last day of the plan
        (date(2026, 11, 29), nil, nil),                 // day 28: warm, no cap
        (date(2030, 1, 1), nil, nil),
    ])
    func capByDay(day: UTCDate, week: Int?, cap: Int?) {
        #expect(plan.week(on: day) == week)
        #expect(plan.dailyCap(on: day) == cap)
    }

    @Test func ageCountsUTCDays() {
        #expect(plan.ageInDays(on: date(2026, 11, 8)) == 7)
        #expect(plan.ageInDays(on: date(2026, 10, 30)) == -2)
    }

    @Test func anEmptyPlanCapsNothing() {
        let empty = WarmupSchedule(started: date(2026, 11, 1), dailyPerWeek: [])
        #expect(empty.dailyCap(on: date(2026, 10, 1)) == nil)
        #expect(empty.dailyCap(on: date(2026, 11, 1)) == nil)
    }

    @Test func negativeCapsReadAsZero() {
        #expect(WarmupSchedule(started: date(2026, 11, 1), dailyPerWeek: [-3]).dailyPerWeek == [0])
    }
}
