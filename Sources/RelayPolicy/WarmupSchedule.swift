// A warm-up plan: a daily cap per week of the account's age, counted in UTC days from the start
// date (day 0 through 6 are week 1; week 2 begins at midnight UTC seven days after the start).
// Before the start date the week-1 cap applies (a new account is treated as at its most careful,
// as Config.WarmupPlan does); after the plan's last week there is no warm-up cap, only the limits.

public struct WarmupSchedule: Sendable, Hashable {
    /// First day of week 1.
    public var started: UTCDate
    /// Daily cap in week 1, 2, ...; negative caps read as zero. An empty plan caps nothing.
    public var dailyPerWeek: [Int]

    public init(started: UTCDate, dailyPerWeek: [Int]) {
        self.started = started
        self.dailyPerWeek = dailyPerWeek.map { max(0, $0) }
    }

    /// Days since the start date; negative before it.
    public func ageInDays(on date: UTCDate) -> Int64 {
        Saturating.subtract(date.daysSinceEpoch, started.daysSinceEpoch)
    }

    /// The 1-based plan week whose cap applies on `date` (1 before the start); nil once the plan is over.
    public func week(on date: UTCDate) -> Int? {
        let age = ageInDays(on: date)
        guard !dailyPerWeek.isEmpty else { return nil }
        guard age >= 0 else { return 1 }
        let weekIndex = age / 7
        return weekIndex < Int64(dailyPerWeek.count) ? Int(weekIndex) + 1 : nil
    }

    /// The warm-up cap on `date`; nil when the plan no longer (or never) caps.
    public func dailyCap(on date: UTCDate) -> Int? {
        week(on: date).map { dailyPerWeek[$0 - 1] }
    }

    /// The first day after `date` on which the cap allows at least one send (a positive cap, or
    /// the end of the plan). Only plan weeks with a zero cap make this later than the next day.
    func firstDayWithRoom(after date: UTCDate) -> UTCDate {
        var day = date.adding(days: 1)
        while let cap = dailyCap(on: day), cap == 0 {
            guard let week = week(on: day) else { break }
            // Jump to the first day of the next plan week (week 1 also covers days before the start).
            let nextWeekStart = started.adding(days: Int64(week) * 7)
            guard nextWeekStart > day else { break }
            day = nextWeekStart
        }
        return day
    }
}
