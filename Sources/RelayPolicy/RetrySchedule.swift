// When a temporarily failed recipient is tried again. After failed attempt k (1-based) the delay
// is retry_after[k-1] scaled by (1 + jitter), jitter uniform in ±10% (injected); once every
// delay is used up, the failure is permanent ("expired"). A retry hint from the reply text wins
// when it is later, capped at `longestHonouredHint` because the text is the upstream's to write.
// Account problems never reach this: they cost no attempt.

public enum RetryDecision: Sendable, Hashable {
    /// Try again `after` from now; `attempt` is the 1-based number of that next attempt.
    case retry(after: Duration, attempt: Int)
    /// The last retry failed too: a permanent failure with reason "expired".
    case expired
}

public struct RetrySchedule: Sendable, Hashable {
    /// 2, 4, 8, 16 and 32 minutes, as [relay] retry_after defaults to.
    public static let defaultDelays: [Duration] = [2, 4, 8, 16, 32].map { .seconds($0 * 60) }

    public var delays: [Duration]
    /// Largest jitter as a fraction of the delay, in thousandths (100: ±10%).
    public var jitterPerMille: Int
    public var longestHonouredHint: Duration

    public init(delays: [Duration] = RetrySchedule.defaultDelays, jitterPerMille: Int = 100,
                longestHonouredHint: Duration = .seconds(24 * 3600)) {
        self.delays = delays.map { max($0, .zero) }
        self.jitterPerMille = min(1000, max(0, jitterPerMille))
        self.longestHonouredHint = max(longestHonouredHint, .zero)
    }

    /// First attempt plus one retry per delay.
    public var maximumAttempts: Int { delays.count + 1 }

    /// The decision after `failedAttempts` attempts have failed (counting the one that just did;
    /// values below 1 read as 1). `jitter` in -1...1 scales the ±jitterPerMille band (0: exact
    /// schedule); out-of-range values are clamped and NaN reads as 0.
    public func decision(afterFailedAttempts failedAttempts: Int, hint: Duration?, jitter: Double) -> RetryDecision {
        let attempt = max(1, failedAttempts)
        guard attempt <= delays.count else { return .expired }
        let base = delays[attempt - 1].saturatingMicroseconds
        let unit = jitter.isNaN ? 0 : min(1, max(-1, jitter))
        let offset = (Double(base) * unit * Double(jitterPerMille) / 1000).rounded()
        let offsetMicroseconds = Int64(exactly: offset) ?? 0
        let scheduled = max(0, Saturating.add(base, offsetMicroseconds))
        let honoured = hint.map { min(max($0, .zero), longestHonouredHint).saturatingMicroseconds } ?? 0
        return .retry(after: .microseconds(max(scheduled, honoured)), attempt: attempt + 1)
    }

    /// Same, drawing the jitter uniformly from `generator` (inject a seeded one in tests).
    public func decision(afterFailedAttempts failedAttempts: Int, hint: Duration?,
                         using generator: inout some RandomNumberGenerator) -> RetryDecision {
        decision(afterFailedAttempts: failedAttempts, hint: hint, jitter: Double.random(in: -1...1, using: &generator))
    }
}
