// Which eligible account carries the next send. Among accounts with room and no active pause,
// the least used relative to its weight wins (lowest sentToday / weight, so traffic splits in
// proportion to weight); ties go to the most remaining room today (no day ceiling counts as
// most), then to the name (deterministic on every node). With no usable account the answer is
// the wait that lifts first, worded for `mailgate queue show`.

/// One eligible account (may carry this sender for this user, active) as seen now.
public struct AccountCandidate: Sendable, Hashable {
    public var name: String
    /// Share of traffic relative to the others; values below 1 read as 1.
    public var weight: Int
    /// From `RatePolicy.status` for this account, at the same `now`.
    public var status: RateStatus
    /// The account's pause, if any; one no longer active at `now` is ignored.
    public var pause: AccountPause?

    public init(name: String, weight: Int, status: RateStatus, pause: AccountPause? = nil) {
        self.name = name
        self.weight = max(1, weight)
        self.status = status
        self.pause = pause
    }
}

/// Why a message (or an account) waits, and until when.
public struct WaitReason: Sendable, Hashable, CustomStringConvertible {
    public enum Cause: Sendable, Hashable {
        case rate(RateHold)
        case paused(AccountPause)
    }

    public var account: String
    public var cause: Cause

    public init(account: String, cause: Cause) {
        self.account = account
        self.cause = cause
    }

    public var opening: RateOpening {
        switch cause {
        case .rate(let hold): hold.opening
        case .paused(let pause): pause.opening
        }
    }

    /// `account sales per_hour limit 300 reached until 2026-11-03T14:00:00Z`.
    public var description: String {
        switch cause {
        case .rate(let hold): "account \(account) \(hold)"
        case .paused(let pause): "account \(account) \(pause)"
        }
    }
}

public enum AccountChoice: Sendable, Hashable {
    case send(account: String)
    /// No account may send now; this is the wait that lifts first.
    case wait(WaitReason)
    /// The message has no eligible account at all (no candidates).
    case noEligibleAccount
}

public struct AccountAssignment: Sendable, Hashable {
    public var account: String
    public var count: Int

    public init(account: String, count: Int) {
        self.account = account
        self.count = count
    }
}

/// A batch of sends spread over accounts.
public struct AccountPlan: Sendable, Hashable {
    /// In order of first use; accounts that get nothing are left out.
    public var assignments: [AccountAssignment]
    /// Sends no account has room for now.
    public var unassigned: Int
    /// The wait that lifts first among accounts that had no room to begin with; nil when every
    /// account had room (the batch used it up: recount and plan again).
    public var wait: WaitReason?
}

public enum AccountSelector {
    /// The account for the next send, or why nothing may go now.
    public static func choose(among candidates: [AccountCandidate], at now: UTCInstant) -> AccountChoice {
        guard !candidates.isEmpty else { return .noEligibleAccount }
        let usable = candidates.filter { isUsable($0, at: now) }
        if let best = usable.min(by: { prefers($0, over: $1) }) { return .send(account: best.name) }
        if let first = waitReasons(among: candidates, at: now).first { return .wait(first) }
        return .noEligibleAccount
    }

    /// Every account that may not send now with the reason, soonest opening first (then by name).
    /// For a paused account that is also at a limit, the later of the two is given.
    public static func waitReasons(among candidates: [AccountCandidate], at now: UTCInstant) -> [WaitReason] {
        var reasons: [WaitReason] = []
        for candidate in candidates where !isUsable(candidate, at: now) {
            var latest: WaitReason?
            if let pause = candidate.pause, pause.isActive(at: now) {
                latest = WaitReason(account: candidate.name, cause: .paused(pause))
            }
            if candidate.status.room <= 0, let hold = candidate.status.hold,
               latest.map({ hold.opening > $0.opening }) ?? true {
                latest = WaitReason(account: candidate.name, cause: .rate(hold))
            }
            if let latest { reasons.append(latest) }
        }
        return reasons.sorted { ($0.opening, $0.account) < ($1.opening, $1.account) }
    }

    /// Spreads `count` sends one by one with the rule of `choose`, taking room and counting each
    /// as sent today as it goes.
    public static func distribute(_ count: Int, among candidates: [AccountCandidate], at now: UTCInstant) -> AccountPlan {
        var pool = candidates.filter { isUsable($0, at: now) }
        var assignments: [AccountAssignment] = []
        var left = max(0, count)
        while left > 0, let index = pool.indices.min(by: { prefers(pool[$0], over: pool[$1]) }) {
            let name = pool[index].name
            if let slot = assignments.firstIndex(where: { $0.account == name }) {
                assignments[slot].count += 1
            } else {
                assignments.append(AccountAssignment(account: name, count: 1))
            }
            left -= 1
            var status = pool[index].status
            if status.room != .max { status.room -= 1 }
            status.sentToday = Saturating.add(status.sentToday, 1)
            status.remainingToday = status.remainingToday.map { max(0, $0 - 1) }
            if status.room > 0 { pool[index].status = status } else { pool.remove(at: index) }
        }
        let wait = left > 0 ? waitReasons(among: candidates, at: now).first : nil
        return AccountPlan(assignments: assignments, unassigned: left, wait: wait)
    }

    static func isUsable(_ candidate: AccountCandidate, at now: UTCInstant) -> Bool {
        candidate.status.room > 0 && !(candidate.pause?.isActive(at: now) ?? false)
    }

    /// The selection order: lower sentToday/weight, then more remaining today, then name.
    static func prefers(_ lhs: AccountCandidate, over rhs: AccountCandidate) -> Bool {
        // Cross-multiplied to stay in integers; weights are at least 1.
        let lhsUse = Saturating.multiply(Int64(max(0, lhs.status.sentToday)), Int64(rhs.weight))
        let rhsUse = Saturating.multiply(Int64(max(0, rhs.status.sentToday)), Int64(lhs.weight))
        if lhsUse != rhsUse { return lhsUse < rhsUse }
        let lhsLeft = lhs.status.remainingToday ?? .max
        let rhsLeft = rhs.status.remainingToday ?? .max
        if lhsLeft != rhsLeft { return lhsLeft > rhsLeft }
        return lhs.name < rhs.name
    }
}
