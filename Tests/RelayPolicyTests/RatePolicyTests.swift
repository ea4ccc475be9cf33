// Room and the binding hold for one account: every limit alone and in pairs, ties between
// windows that end together, warm-up week boundaries, the plan's start and end, zero limits,
// and a randomised check that the reported opening is exactly the first instant with room.
import RelayPolicy
import Testing

/// Counters holding these counts in the windows that contain `now`.
func counters(minute: Int = 0, hour: Int = 0, day: Int = 0, at now: UTCInstant) -> RateCounters {
    RateCounters([
        RateWindowKind.minute.key(containing: now): minute,
        RateWindowKind.hour.key(containing: now): hour,
        RateWindowKind.day.key(containing: now): day,
    ])
}

@Suite struct RatePolicyTests {
    /// The spec's example account: 20/min, 300/h, 2000/day, warm-up 500, 1000, 2000, 5000 from 2026-11-01.
    let sales = RatePolicy(perMinute: 20, perHour: 300, perDay: 2000,
                           warmup: WarmupSchedule(started: date(2026, 11, 1), dailyPerWeek: [500, 1000, 2000, 5000]),
                           maxConnections: 2)

    struct Case: Sendable, CustomTestStringConvertible {
        var now: UTCInstant
        var minute = 0, hour = 0, day = 0, inFlight = 0
        var room: Int
        var hold: String?
        var testDescription: String { "\(now) m\(minute) h\(hour) d\(day) f\(inFlight)" }
    }

    static let lateInTheHour = utc(2026, 11, 10, 14, 59, 59, micro: 999_000)   // day 9: week 2, cap 1000

    @Test(arguments: [
        Case(now: lateInTheHour, room: 2),
        Case(now: lateInTheHour, inFlight: 1, room: 1),
        Case(now: lateInTheHour, inFlight: 2, room: 0, hold: "all 2 connections busy"),
        Case(now: lateInTheHour, inFlight: 7, room: 0, hold: "all 2 connections busy"),
        Case(now: lateInTheHour, minute: 19, hour: 299, day: 999, room: 1),
        Case(now: lateInTheHour, minute: 20, room: 0, hold: "per_minute limit 20 reached until 2026-11-10T15:00:00Z"),
        Case(now: lateInTheHour, minute: 25, room: 0, hold: "per_minute limit 20 reached until 2026-11-10T15:00:00Z"),
        Case(now: lateInTheHour, minute: 5, hour: 300, room: 0,
             hold: "per_hour limit 300 reached until 2026-11-10T15:00:00Z"),
        // Minute and hour end together: the larger window is named.
        Case(now: lateInTheHour, minute: 20, hour: 300, room: 0,
             hold: "per_hour limit 300 reached until 2026-11-10T15:00:00Z"),
        Case(now: lateInTheHour, day: 1000, room: 0,
             hold: "warm-up week 2 cap 1000 reached until 2026-11-11T00:00:00Z"),
        // The later of two holds binds.
        Case(now: lateInTheHour, minute: 20, day: 1000, room: 0,
             hold: "warm-up week 2 cap 1000 reached until 2026-11-11T00:00:00Z"),
        Case(now: lateInTheHour, day: 1000, inFlight: 2, room: 0,
             hold: "warm-up week 2 cap 1000 reached until 2026-11-11T00:00:00Z"),
        Case(now: utc(2026, 11, 10, 14, 30), minute: 20, inFlight: 2, room: 0,
             hold: "per_minute limit 20 reached until 2026-11-10T14:31:00Z"),
        // Last microsecond of week 1: its cap, reopening at week 2's first midnight.
        Case(now: utc(2026, 11, 7, 23, 59, 59, micro: 999_999), day: 499, room: 1),
        Case(now: utc(2026, 11, 7, 23, 59, 59, micro: 999_999), day: 500, room: 0,
             hold: "warm-up week 1 cap 500 reached until 2026-11-08T00:00:00Z"),
        Case(now: utc(2026, 11, 8), day: 500, room: 2),
        // Before the start date: week 1's cap.
        Case(now: utc(2026, 10, 30, 12), day: 500, room: 0,
             hold: "warm-up week 1 cap 500 reached until 2026-10-31T00:00:00Z"),
        // Week 4's cap (5000) is above per_day: per_day binds.
        Case(now: utc(2026, 11, 22, 8), day: 2000, room: 0,
             hold: "per_day limit 2000 reached until 2026-11-23T00:00:00Z"),
        // After the plan: only the limits.
        Case(now: utc(2026, 11, 29, 23, 59, 59, micro: 999_999), day: 1999, room: 1),
        Case(now: utc(2026, 11, 29, 23, 59, 59, micro: 999_999), day: 2000, room: 0,
             hold: "per_day limit 2000 reached until 2026-11-30T00:00:00Z"),
        // Across the European DST change (2026-10-25 01:00 UTC): plain UTC hours.
        Case(now: utc(2026, 10, 25, 0, 59, 59, micro: 999_000), hour: 300, room: 0,
             hold: "per_hour limit 300 reached until 2026-10-25T01:00:00Z"),
    ])
    func roomAndHold(_ example: Case) {
        let status = sales.status(counters: counters(minute: example.minute, hour: example.hour, day: example.day,
                                                     at: example.now),
                                  inFlight: example.inFlight, at: example.now)
        #expect(status.room == example.room)
        #expect(status.hold?.description == example.hold)
    }

    @Test func countsOfTheWindowBeforeDoNotHoldTheNextOne() {
        let full = counters(minute: 20, hour: 300, day: 1000, at: Self.lateInTheHour)
        let justAfter = utc(2026, 11, 11)
        #expect(sales.room(counters: full, inFlight: 0, at: justAfter) == 2)
        #expect(sales.nextOpening(counters: full, inFlight: 0, at: justAfter) == nil)
    }

    @Test func theHourBeforeTheEuropeanDSTChangeDoesNotHoldTheHourAfter() {
        let full = counters(minute: 20, hour: 300, day: 300, at: utc(2026, 10, 25, 0, 59, 59, micro: 999_999))
        #expect(sales.room(counters: full, inFlight: 0, at: utc(2026, 10, 25, 1)) == 2)
        #expect(sales.room(counters: full, inFlight: 0, at: utc(2026, 10, 25, 1, 59)) == 2)
    }

    @Test func remainingTodayFollowsTheLowerDayCeiling() {
        let now = utc(2026, 11, 10, 9)
        #expect(sales.status(counters: counters(day: 400, at: now), inFlight: 0, at: now).remainingToday == 600)
        #expect(sales.status(counters: counters(day: 1400, at: now), inFlight: 0, at: now).remainingToday == 0)
        let after = utc(2026, 12, 1, 9)
        #expect(sales.status(counters: counters(day: 400, at: after), inFlight: 0, at: after).remainingToday == 1600)
        #expect(RatePolicy(perHour: 5).status(counters: RateCounters(), inFlight: 0, at: now).remainingToday == nil)
    }

    @Test(arguments: [
        (RateWindowKind.minute, 20 as Int?), (.hour, 300), (.day, 1000),
    ])
    func ceilingsForTheConditionalUpsert(kind: RateWindowKind, ceiling: Int?) {
        #expect(sales.ceiling(kind, at: Self.lateInTheHour) == ceiling)
    }

    @Test func noLimitsMeansUnboundedRoom() {
        let open = RatePolicy()
        let now = utc(2026, 11, 3)
        #expect(open.room(counters: counters(minute: 1_000_000, at: now), inFlight: 1000, at: now) == .max)
        #expect(open.ceiling(.day, at: now) == nil)
    }

    @Test(arguments: [
        (RatePolicy(perDay: 0), "per_day limit 0 reached and never reopens"),
        (RatePolicy(perHour: 0), "per_hour limit 0 reached and never reopens"),
        (RatePolicy(perMinute: -5), "per_minute limit 0 reached and never reopens"),
        (RatePolicy(maxConnections: 0), "all 0 connections busy"),
    ])
    func zeroLimitsNeverOpen(policy: RatePolicy, hold: String) {
        let now = utc(2026, 11, 3)
        #expect(policy.nextOpening(counters: RateCounters(), inFlight: 0, at: now)?.description == hold)
    }

    @Test func aZeroCapWarmupWeekOpensWhenTheNextWeekBegins() {
        let policy = RatePolicy(warmup: WarmupSchedule(started: date(2026, 11, 1), dailyPerWeek: [0, 0, 10]))
        let hold = policy.nextOpening(counters: RateCounters(), inFlight: 0, at: utc(2026, 11, 3, 12))
        #expect(hold == RateHold(limit: .warmup(week: 1), ceiling: 0, opening: .at(utc(2026, 11, 15))))
        let allZero = RatePolicy(warmup: WarmupSchedule(started: date(2026, 11, 1), dailyPerWeek: [0, 0]))
        #expect(allZero.nextOpening(counters: RateCounters(), inFlight: 0, at: utc(2026, 10, 20))?.opening
            == .at(utc(2026, 11, 15)))
    }

    @Test func takeGrantsAtMostTheRoomAndCountsIt() {
        var shared = counters(minute: 17, hour: 100, day: 100, at: Self.lateInTheHour)
        let policy = RatePolicy(perMinute: 20, perHour: 300, perDay: 2000)
        #expect(policy.take(5, from: &shared, inFlight: 0, at: Self.lateInTheHour) == 3)
        #expect(shared.count(.minute, at: Self.lateInTheHour) == 20)
        #expect(shared.count(.hour, at: Self.lateInTheHour) == 103)
        #expect(policy.take(5, from: &shared, inFlight: 0, at: Self.lateInTheHour) == 0)
        #expect(policy.take(-2, from: &shared, inFlight: 0, at: utc(2026, 11, 10, 15)) == 0)
        #expect(policy.take(5, from: &shared, inFlight: 0, at: utc(2026, 11, 10, 15)) == 5)
    }

    /// For random states: no room before the reported opening, room at it (once connections free:
    /// a time hold is named in preference to busy connections, which free on their own).
    @Test func theOpeningIsTheFirstInstantWithRoom() {
        var random = SplitMix64(seed: 7)
        var checked = 0
        var failures: [String] = []
        for _ in 0..<5000 {
            let now = utc(2026, 10, 20) + .microseconds(Int64.random(in: 0..<(60 * 86_400_000_000), using: &random))
            let state = counters(minute: Int.random(in: 15...21, using: &random),
                                 hour: Int.random(in: 290...301, using: &random),
                                 day: Int.random(in: 490...2001, using: &random), at: now)
            let inFlight = Int.random(in: 0...2, using: &random)
            guard let hold = sales.nextOpening(counters: state, inFlight: inFlight, at: now) else {
                if sales.room(counters: state, inFlight: inFlight, at: now) <= 0 { failures.append("no hold at \(now)") }
                continue
            }
            checked += 1
            switch hold.opening {
            case .at(let opening):
                let before = opening - .microseconds(1)
                if !(opening > now) || sales.room(counters: state, inFlight: inFlight, at: before) != 0
                    || sales.room(counters: state, inFlight: 0, at: opening) <= 0 {
                    failures.append("\(hold) at \(now)")
                }
            case .whenConnectionFrees:
                if sales.room(counters: state, inFlight: inFlight - 1, at: now) <= 0 { failures.append("\(hold) at \(now)") }
            case .never:
                failures.append("never at \(now)")
            }
        }
        #expect(checked > 1000)
        #expect(failures == [])
    }
}
