// An account's limits and warm-up plan as the relay's arithmetic sees them:
// one translation, used by the relay and by `mailgate accounts status`.
import Config
import RelayPolicy

extension AccountConfig {
    var ratePolicy: RatePolicy {
        let warmup = self.warmup.flatMap { plan -> WarmupSchedule? in
            guard let started = UTCDate(year: plan.started.year, month: plan.started.month, day: plan.started.day)
            else { return nil }
            return WarmupSchedule(started: started, dailyPerWeek: plan.dailyPerWeek)
        }
        return RatePolicy(perMinute: limits.perMinute, perHour: limits.perHour, perDay: limits.perDay,
                          warmup: warmup, maxConnections: maxConnections)
    }
}
