// When to refresh an OAuth2 access token and until when to use it, from the
// moment it was obtained and its lifetime (wall-clock milliseconds, so that
// nodes sharing a token agree). Refresh at 80% of the lifetime, or 5 minutes
// before expiry when that is earlier (never later than half-way); a per-node
// jitter moves it earlier by up to a tenth of that lead, so one node refreshes
// and the others find its token. Use stops a margin before expiry.

public struct OAuth2TokenLifetime: Sendable, Equatable {
    /// Assumed when the endpoint gives no expires_in (Google and Microsoft tokens live an hour).
    public static let defaultLifetimeSeconds = 3600
    public static let maxLead: Int64 = 300_000

    public var obtainedAtMilliseconds: Int64
    public var lifetimeSeconds: Int

    public init(obtainedAtMilliseconds: Int64, expiresIn: Int?) {
        self.obtainedAtMilliseconds = obtainedAtMilliseconds
        self.lifetimeSeconds = max(0, min(expiresIn ?? Self.defaultLifetimeSeconds, OAuth2TokenResponse.maxExpiresIn))
    }

    var lifetimeMilliseconds: Int64 { Int64(lifetimeSeconds) * 1000 }

    public var expiresAtMilliseconds: Int64 { obtainedAtMilliseconds + lifetimeMilliseconds }

    /// How long before expiry the refresh is due: max(20% of the lifetime, min(5 minutes, half of it)).
    public var leadMilliseconds: Int64 {
        max(lifetimeMilliseconds / 5, min(Self.maxLead, lifetimeMilliseconds / 2))
    }

    /// When to refresh; `jitter` in 0...1 moves it earlier by up to a tenth of the lead.
    public func refreshAtMilliseconds(jitter: Double) -> Int64 {
        let clamped = jitter.isFinite ? min(1, max(0, jitter)) : 0
        let early = Int64(Double(leadMilliseconds / 10) * clamped)
        return expiresAtMilliseconds - leadMilliseconds - early
    }

    /// The token is no longer handed out after this: a tenth of the lifetime (at most 30 s) before expiry,
    /// so a session that starts with it still logs in before it lapses.
    public var usableUntilMilliseconds: Int64 {
        expiresAtMilliseconds - min(30_000, lifetimeMilliseconds / 10)
    }

    public func isUsable(atMilliseconds now: Int64) -> Bool { now < usableUntilMilliseconds }
}
