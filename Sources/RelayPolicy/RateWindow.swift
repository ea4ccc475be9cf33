// Fixed rate windows aligned to UTC (minute, hour, day) and the per-window send counts of one
// account, keyed exactly like email_rate_counters (window_kind, window_start). A window is the
// half-open interval [start, start + length): 14:59:59.999999 is in the 14:00 hour, 15:00:00 is not.
// Counts for windows that do not contain `now` are ignored, so stale rows never count twice.

/// The three kinds of counted window; the raw value is email_rate_counters.window_kind.
public enum RateWindowKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case minute, hour, day

    public var length: Duration { .microseconds(lengthMicroseconds) }

    var lengthMicroseconds: Int64 {
        switch self {
        case .minute: 60_000_000
        case .hour: 3_600_000_000
        case .day: 86_400_000_000
        }
    }

    /// The start of the window of this kind that contains `instant` (floor to the UTC minute/hour/day).
    public func start(containing instant: UTCInstant) -> UTCInstant {
        let index = Saturating.floorDivide(instant.microsecondsSinceEpoch, lengthMicroseconds)
        return UTCInstant(microsecondsSinceEpoch: Saturating.multiply(index, lengthMicroseconds))
    }

    /// The first instant after the window that contains `instant`: the next window's start.
    public func end(containing instant: UTCInstant) -> UTCInstant {
        UTCInstant(microsecondsSinceEpoch: Saturating.add(start(containing: instant).microsecondsSinceEpoch,
                                                          lengthMicroseconds))
    }

    /// The email_rate_counters key of the window that contains `instant`.
    public func key(containing instant: UTCInstant) -> RateWindowKey {
        RateWindowKey(kind: self, start: start(containing: instant))
    }

    public var description: String { rawValue }
}

/// Primary key of an email_rate_counters row (with the account name, which the caller holds).
public struct RateWindowKey: Sendable, Hashable, CustomStringConvertible {
    public var kind: RateWindowKind
    public var start: UTCInstant

    public init(kind: RateWindowKind, start: UTCInstant) {
        self.kind = kind
        self.start = start
    }

    public var end: UTCInstant { kind.end(containing: start) }

    /// `hour@2026-11-03T14:00:00Z`.
    public var description: String { "\(kind)@\(start)" }
}

/// Sends counted per window for one account, as read from (or written to) email_rate_counters.
public struct RateCounters: Sendable, Hashable {
    public private(set) var sent: [RateWindowKey: Int]

    /// Rows as stored; negative counts are read as zero.
    public init(_ rows: [RateWindowKey: Int] = [:]) {
        self.sent = rows.mapValues { max(0, $0) }
    }

    /// Sends in the window of `kind` that contains `now` (0 when no row exists yet).
    public func count(_ kind: RateWindowKind, at now: UTCInstant) -> Int {
        sent[kind.key(containing: now)] ?? 0
    }

    /// Counts `number` sends at `now` in all three windows that contain it (the day window too
    /// when the account has no per-day limit, so that a limit added later starts from the truth).
    public mutating func record(_ number: Int, at now: UTCInstant) {
        guard number > 0 else { return }
        for kind in RateWindowKind.allCases {
            sent[kind.key(containing: now), default: 0] = Saturating.add(count(kind, at: now), number)
        }
    }

    /// Drops rows whose window ended at or before `now`; they can never count again.
    public mutating func prune(before now: UTCInstant) {
        sent = sent.filter { $0.key.end > now }
    }
}
