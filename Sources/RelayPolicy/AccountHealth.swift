// How long an account pauses after an account problem, and the bounce-rate pause. Quota: until
// the next UTC midnight. Provider rate limit: back-off by consecutive count, or the hint when
// later. Unreachable, login failure, suspension: until a health check (connect, EHLO, AUTH) passes,
// first tried after a back-off. Bounce rate above 5% of the last 200 sends (with at least 100
// sends): until an operator resumes it. Limit: providers' days are not all UTC days.
// AccountProblem comes from MailCore's UpstreamReplyClassifier, shared with the SMTP client.

import MailCore

public enum PauseReason: Sendable, Hashable, CustomStringConvertible {
    case problem(AccountProblem)
    /// Bounces per thousand among the last `sample` sends.
    case bounceRate(perMille: Int, sample: Int)
    /// A pause read back from the shared state (another node's, a health check's or an
    /// operator's): the whole sentence as recorded, which already says what ends it.
    case recorded(String)

    public var description: String {
        switch self {
        case .problem(let problem): problem.description
        case .recorded(let sentence): sentence
        case .bounceRate(let perMille, let sample):
            "bounce rate \(perMille / 10).\(perMille % 10)% over the last \(sample) sends"
        }
    }
}

/// What ends a pause.
public enum ResumeCondition: Sendable, Hashable {
    /// The pause ends by itself at this instant (a window reset).
    case at(UTCInstant)
    /// A health check may run from this instant; the pause ends when one passes.
    case healthCheck(notBefore: UTCInstant)
    /// Only `mailgate accounts` (an operator) ends it.
    case operatorAction
}

public struct AccountPause: Sendable, Hashable, CustomStringConvertible {
    public var reason: PauseReason
    public var resume: ResumeCondition

    public init(reason: PauseReason, resume: ResumeCondition) {
        self.reason = reason
        self.resume = resume
    }

    /// Whether the account is still paused at `now`. Health-check and operator pauses last until
    /// the service clears them.
    public func isActive(at now: UTCInstant) -> Bool {
        switch resume {
        case .at(let instant): now < instant
        case .healthCheck, .operatorAction: true
        }
    }

    /// When sending may resume at the earliest (for "why does it wait").
    public var opening: RateOpening {
        switch resume {
        case .at(let instant), .healthCheck(notBefore: let instant): .at(instant)
        case .operatorAction: .never
        }
    }

    /// `paused (login failed) until a health check passes, from 2026-11-03T15:00:00Z`.
    public var description: String {
        if case .recorded(let sentence) = reason { return sentence }
        return switch resume {
        case .at(let instant): "paused (\(reason)) until \(instant)"
        case .healthCheck(let notBefore): "paused (\(reason)) until a health check passes, from \(notBefore)"
        case .operatorAction: "paused (\(reason)) until an operator resumes it"
        }
    }
}

public struct HealthPolicy: Sendable, Hashable {
    /// Delay before the n-th consecutive health check of an unreachable account (last repeats).
    public var unreachableBackoff: [Duration]
    /// Pause after the n-th consecutive provider rate-limit reply (last repeats).
    public var rateLimitedBackoff: [Duration]
    /// Delay before re-trying the login of an account whose login failed (gentle: providers
    /// lock accounts after repeated bad logins).
    public var authRecheck: Duration
    public var suspendedRecheck: Duration
    /// A provider's retry hint is honoured up to this long.
    public var longestHonouredHint: Duration

    public init(unreachableBackoff: [Duration] = [1, 2, 5, 10, 30].map { .seconds($0 * 60) },
                rateLimitedBackoff: [Duration] = [5, 15, 60].map { .seconds($0 * 60) },
                authRecheck: Duration = .seconds(3600), suspendedRecheck: Duration = .seconds(6 * 3600),
                longestHonouredHint: Duration = .seconds(24 * 3600)) {
        self.unreachableBackoff = unreachableBackoff
        self.rateLimitedBackoff = rateLimitedBackoff
        self.authRecheck = authRecheck
        self.suspendedRecheck = suspendedRecheck
        self.longestHonouredHint = longestHonouredHint
    }

    /// The pause for `problem` at `now`; `consecutive` counts this problem's occurrences in a
    /// row on this account, this one included (values below 1 read as 1).
    public func pause(for problem: AccountProblem, consecutive: Int, at now: UTCInstant) -> AccountPause {
        func backoff(_ steps: [Duration]) -> Duration {
            guard !steps.isEmpty else { return .zero }
            return max(.zero, steps[min(max(1, consecutive), steps.count) - 1])
        }
        let resume: ResumeCondition
        switch problem {
        case .quotaExhausted:
            resume = .at(RateWindowKind.day.end(containing: now))
        case .rateLimited(let hint):
            let honoured = hint.map { min(max($0, .zero), longestHonouredHint) } ?? .zero
            resume = .at(now + max(backoff(rateLimitedBackoff), honoured))
        case .unreachable:
            resume = .healthCheck(notBefore: now + backoff(unreachableBackoff))
        case .authFailed:
            resume = .healthCheck(notBefore: now + authRecheck)
        case .suspended:
            resume = .healthCheck(notBefore: now + suspendedRecheck)
        }
        return AccountPause(reason: .problem(problem), resume: resume)
    }
}

public enum BounceRateVerdict: Sendable, Hashable {
    /// Fewer sends than the minimum sample: no judgement yet.
    case tooFewSends(Int)
    case healthy(perMille: Int)
    case pause(perMille: Int)
}

/// Pause an account whose bounces exceed a threshold over its last `window` sends.
public struct BounceRatePolicy: Sendable, Hashable {
    /// Strictly above this many bounces per thousand sends pauses (50: 5%).
    public var thresholdPerMille: Int
    /// How many of the most recent sends are judged (N).
    public var window: Int
    /// No verdict on fewer sends than this.
    public var minimumSample: Int

    public init(thresholdPerMille: Int = 50, window: Int = 200, minimumSample: Int = 100) {
        self.thresholdPerMille = max(0, thresholdPerMille)
        self.window = max(1, window)
        self.minimumSample = min(max(1, minimumSample), max(1, window))
    }

    /// `sends` and `bounces` are counted over the account's last `window` sends (bounces: hard
    /// bounces and complaints matched to those sends). Bounces beyond `sends` are capped.
    public func verdict(sends: Int, bounces: Int) -> BounceRateVerdict {
        let sample = max(0, sends)
        guard sample >= minimumSample else { return .tooFewSends(sample) }
        let bounced = min(max(0, bounces), sample)
        // Per mille, rounded down; the comparison itself is exact (no rounding).
        let perMille = Int((Int64(bounced) * 1000) / Int64(sample))
        let over = Int64(bounced) * 1000 > Int64(thresholdPerMille) * Int64(sample)
        return over ? .pause(perMille: perMille) : .healthy(perMille: perMille)
    }

    /// Judges the most recent outcomes, oldest first (`true`: bounced); only the last `window` count.
    public func verdict(recent outcomes: some Collection<Bool>) -> BounceRateVerdict {
        let considered = outcomes.suffix(window)
        return verdict(sends: considered.count, bounces: considered.count(where: { $0 }))
    }

    /// The pause to apply, if the verdict is to pause.
    public func pause(sends: Int, bounces: Int) -> AccountPause? {
        switch verdict(sends: sends, bounces: bounces) {
        case .tooFewSends, .healthy: nil
        case .pause(let perMille):
            AccountPause(reason: .bounceRate(perMille: perMille, sample: max(0, sends)), resume: .operatorAction)
        }
    }
}
