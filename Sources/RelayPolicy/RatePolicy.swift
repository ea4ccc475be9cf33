// How many more sends one account may make now, and when it may send again when it may not.
// Room = min(per_minute - minute count, per_hour - hour count, min(per_day, warm-up cap) - day
// count, max_connections - sends in flight). The day window carries both the per_day limit and
// the warm-up cap. Windows nest and align (every day end is an hour end is a minute end), so the
// account reopens at the latest end among the exhausted windows. A limit of 0 never reopens.

/// Which limit holds an account.
public enum RateLimitKind: Sendable, Hashable, CustomStringConvertible {
    case perMinute, perHour, perDay
    /// The warm-up cap of this 1-based plan week.
    case warmup(week: Int)
    /// Every allowed parallel upstream session is busy.
    case connections

    /// `per_minute`, `per_hour`, `per_day` (the config keys), `warm-up week 2`, `connections`.
    public var description: String {
        switch self {
        case .perMinute: "per_minute"
        case .perHour: "per_hour"
        case .perDay: "per_day"
        case .warmup(let week): "warm-up week \(week)"
        case .connections: "connections"
        }
    }
}

/// When a held account gets room again. Ordered soonest first: a connection coming free is
/// expected before any window end, and `never` (a zero limit) after everything.
public enum RateOpening: Sendable, Hashable, Comparable, CustomStringConvertible {
    case whenConnectionFrees
    case at(UTCInstant)
    case never

    public var description: String {
        switch self {
        case .whenConnectionFrees: "when a connection frees"
        case .at(let instant): "until \(instant)"
        case .never: "and never reopens"
        }
    }
}

/// The limit that keeps an account at zero room, and until when.
public struct RateHold: Sendable, Hashable, CustomStringConvertible {
    public var limit: RateLimitKind
    /// The configured value that was reached (for connections: max_connections).
    public var ceiling: Int
    public var opening: RateOpening

    public init(limit: RateLimitKind, ceiling: Int, opening: RateOpening) {
        self.limit = limit
        self.ceiling = ceiling
        self.opening = opening
    }

    /// `per_hour limit 300 reached until 2026-11-03T14:00:00Z`, `warm-up week 2 cap 1000 reached
    /// until 2026-11-10T00:00:00Z`, `all 2 connections busy`, `per_day limit 0 reached and never reopens`.
    public var description: String {
        switch limit {
        case .connections: "all \(ceiling) connections busy"
        case .warmup: "\(limit) cap \(ceiling) reached \(opening)"
        case .perMinute, .perHour, .perDay: "\(limit) limit \(ceiling) reached \(opening)"
        }
    }
}

/// One account's standing at one instant.
public struct RateStatus: Sendable, Hashable {
    /// Sends that may start now; `Int.max` when nothing limits the account.
    public var room: Int
    /// Sends counted in the current UTC day.
    public var sentToday: Int
    /// The day ceiling (per_day or warm-up cap, the lower) minus `sentToday`, never negative;
    /// nil when the account has no day ceiling today.
    public var remainingToday: Int?
    /// Why `room` is zero; nil whenever `room` is positive.
    public var hold: RateHold?
}

/// An account's sending limits; the service builds it from the account's config.
/// nil means no limit of that kind; negative values read as zero (closed).
public struct RatePolicy: Sendable, Hashable {
    public var perMinute: Int?
    public var perHour: Int?
    public var perDay: Int?
    public var warmup: WarmupSchedule?
    /// Parallel upstream sessions; each carries one send at a time.
    public var maxConnections: Int?

    public init(perMinute: Int? = nil, perHour: Int? = nil, perDay: Int? = nil,
                warmup: WarmupSchedule? = nil, maxConnections: Int? = nil) {
        self.perMinute = perMinute.map { max(0, $0) }
        self.perHour = perHour.map { max(0, $0) }
        self.perDay = perDay.map { max(0, $0) }
        self.warmup = warmup
        self.maxConnections = maxConnections.map { max(0, $0) }
    }

    /// The most sends the window of `kind` containing `now` may count: the value to use in the
    /// conditional upsert of that email_rate_counters row. The day's is min(per_day, warm-up cap).
    public func ceiling(_ kind: RateWindowKind, at now: UTCInstant) -> Int? {
        switch kind {
        case .minute: return perMinute
        case .hour: return perHour
        case .day: return dayCeiling(on: now.date)?.value
        }
    }

    /// The day's ceiling and which limit sets it (the lower one; per_day on a tie).
    func dayCeiling(on date: UTCDate) -> (value: Int, limit: RateLimitKind)? {
        let warmCap = warmup.flatMap { plan in plan.dailyCap(on: date).map { ($0, plan.week(on: date) ?? 1) } }
        switch (perDay, warmCap) {
        case (nil, nil): return nil
        case (let day?, nil): return (day, .perDay)
        case (nil, let (cap, week)?): return (cap, .warmup(week: week))
        case (let day?, let (cap, week)?): return cap < day ? (cap, .warmup(week: week)) : (day, .perDay)
        }
    }

    /// Room, remaining day budget and, when the room is zero, the hold that lifts last.
    /// `inFlight` counts this account's sends in progress on all nodes.
    public func status(counters: RateCounters, inFlight: Int, at now: UTCInstant) -> RateStatus {
        let sentToday = counters.count(.day, at: now)
        var room = Int.max
        var holds: [RateHold] = []
        func apply(_ ceiling: Int, used: Int, limit: RateLimitKind, opening: @autoclosure () -> RateOpening) {
            let left = max(0, ceiling - used)
            room = min(room, left)
            if left == 0 { holds.append(RateHold(limit: limit, ceiling: ceiling, opening: ceiling == 0 ? .never : opening())) }
        }
        let day = dayCeiling(on: now.date)
        if let day {
            let opening: RateOpening
            switch day.limit {
            case .warmup:
                // Never "never": the plan moves on, past any zero-cap week, to a day with room.
                opening = .at(warmup.map { $0.firstDayWithRoom(after: now.date).start }
                              ?? RateWindowKind.day.end(containing: now))
            case .perMinute, .perHour, .perDay, .connections:
                opening = day.value == 0 ? .never : .at(RateWindowKind.day.end(containing: now))
            }
            let left = max(0, day.value - sentToday)
            room = min(room, left)
            if left == 0 { holds.append(RateHold(limit: day.limit, ceiling: day.value, opening: opening)) }
        }
        if let perHour {
            apply(perHour, used: counters.count(.hour, at: now), limit: .perHour,
                  opening: .at(RateWindowKind.hour.end(containing: now)))
        }
        if let perMinute {
            apply(perMinute, used: counters.count(.minute, at: now), limit: .perMinute,
                  opening: .at(RateWindowKind.minute.end(containing: now)))
        }
        if let maxConnections {
            apply(maxConnections, used: max(0, inFlight), limit: .connections, opening: .whenConnectionFrees)
        }
        // The hold that lifts last binds; on a tie the larger window (listed first) is named.
        var binding: RateHold?
        for hold in holds where binding.map({ hold.opening > $0.opening }) ?? true { binding = hold }
        let remaining = day.map { max(0, $0.value - sentToday) }
        return RateStatus(room: room, sentToday: sentToday, remainingToday: remaining, hold: room > 0 ? nil : binding)
    }

    /// How many more sends may start now (min over windows, warm-up cap and free connections).
    public func room(counters: RateCounters, inFlight: Int, at now: UTCInstant) -> Int {
        status(counters: counters, inFlight: inFlight, at: now).room
    }

    /// nil when the account has room now; otherwise the binding limit and the earliest instant
    /// at which room becomes positive again (assuming no further sends are counted meanwhile).
    /// A window hold is named in preference to busy connections, which free on their own.
    public func nextOpening(counters: RateCounters, inFlight: Int, at now: UTCInstant) -> RateHold? {
        status(counters: counters, inFlight: inFlight, at: now).hold
    }

    /// Takes up to `wanted` sends from the room at `now` and counts them in `counters`; returns
    /// how many were granted. This is the pure twin of the claim transaction's conditional upsert
    /// (`sent + n <= ceiling` per window): check and count in one step, never more than the room.
    public func take(_ wanted: Int, from counters: inout RateCounters, inFlight: Int,
                              at now: UTCInstant) -> Int {
        let granted = min(max(0, wanted), room(counters: counters, inFlight: inFlight, at: now))
        counters.record(granted, at: now)
        return granted
    }
}
