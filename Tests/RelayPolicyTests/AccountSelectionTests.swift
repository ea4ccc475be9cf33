// Account choice: least use relative to weight, ties by remaining room then name, accounts
// without room or paused left out, weighted shares over a batch, and the wait reason (the one
// that lifts first) when nothing may send, worded as `mailgate queue show` prints it.
import MailCore
import RelayPolicy
import Testing

private let now = utc(2026, 11, 3, 13, 20)
private let limits = RatePolicy(perMinute: 20, perHour: 300, perDay: 2000, maxConnections: 2)

private func candidate(_ name: String, weight: Int = 1, minute: Int = 0, hour: Int = 0, today: Int = 0,
                       inFlight: Int = 0, policy: RatePolicy = limits, pause: AccountPause? = nil) -> AccountCandidate {
    let status = policy.status(counters: counters(minute: minute, hour: hour, day: today, at: now),
                               inFlight: inFlight, at: now)
    return AccountCandidate(name: name, weight: weight, status: status, pause: pause)
}

@Suite struct AccountSelectionTests {

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var candidates: [AccountCandidate]
        var chosen: String
        var testDescription: String { label }
    }

    @Test(arguments: [
        Case(label: "least used", candidates: [candidate("a", today: 100), candidate("b", today: 50)], chosen: "b"),
        Case(label: "use relative to weight", candidates: [candidate("a", weight: 3, today: 290), candidate("b", today: 100)],
             chosen: "a"),
        Case(label: "weight 3 at 3x the use ties; more remaining wins",
             candidates: [candidate("a", weight: 3, today: 300), candidate("b", today: 100)], chosen: "b"),
        Case(label: "tie on use and remaining: by name",
             candidates: [candidate("zeta", today: 10), candidate("alpha", today: 10)], chosen: "alpha"),
        Case(label: "no day ceiling counts as most remaining",
             candidates: [candidate("a", today: 0), candidate("b", policy: RatePolicy(perMinute: 5))], chosen: "b"),
        Case(label: "no room now is skipped even when least used",
             candidates: [candidate("a", minute: 20), candidate("b", today: 1500)], chosen: "b"),
        Case(label: "busy connections are skipped", candidates: [candidate("a", inFlight: 2), candidate("b", today: 9)],
             chosen: "b"),
        Case(label: "an active pause is skipped",
             candidates: [candidate("a", pause: AccountPause(reason: .problem(.authFailed),
                                                             resume: .healthCheck(notBefore: now + .minutes(5)))),
                          candidate("b", today: 900)], chosen: "b"),
        Case(label: "a pause that ended is ignored",
             candidates: [candidate("a", pause: AccountPause(reason: .problem(.quotaExhausted), resume: .at(now))),
                          candidate("b", today: 900)], chosen: "a"),
    ])
    func choice(_ example: Case) {
        #expect(AccountSelector.choose(among: example.candidates, at: now) == .send(account: example.chosen))
    }

    @Test func theChoiceDoesNotDependOnTheOrderOfCandidates() {
        let candidates = [candidate("c", today: 7), candidate("a", today: 7), candidate("b", today: 7), candidate("d", today: 8)]
        var random = SplitMix64(seed: 11)
        var choices: Set<AccountChoice> = []
        for _ in 0..<50 { choices.insert(AccountSelector.choose(among: candidates.shuffled(using: &random), at: now)) }
        #expect(choices == [.send(account: "a")])
    }

    @Test func aBatchSplitsByWeight() {
        let open = RatePolicy()
        let plan = AccountSelector.distribute(400, among: [candidate("a", weight: 3, policy: open),
                                                           candidate("b", weight: 1, policy: open)], at: now)
        #expect(plan.assignments == [AccountAssignment(account: "a", count: 300), AccountAssignment(account: "b", count: 100)])
        #expect(plan.unassigned == 0)
    }

    @Test func aBatchFillsTheLessUsedAccountFirstAndStopsAtTheRoom() {
        let noConnectionLimit = RatePolicy(perMinute: 20, perHour: 300, perDay: 2000)
        let plan = AccountSelector.distribute(50, among: [candidate("a", minute: 10, today: 40, policy: noConnectionLimit),
                                                          candidate("b", today: 30, policy: noConnectionLimit)], at: now)
        // b catches up to 40, then they alternate; both run out of minute room (10 and 20).
        #expect(plan.assignments == [AccountAssignment(account: "b", count: 20), AccountAssignment(account: "a", count: 10)])
        #expect(plan.unassigned == 20)
        #expect(plan.wait == nil)
    }

    @Test func aBatchBeyondTheRoomNamesTheWaitOfHeldAccounts() {
        let plan = AccountSelector.distribute(5, among: [candidate("a", hour: 300), candidate("b", minute: 18)], at: now)
        #expect(plan.assignments == [AccountAssignment(account: "b", count: 2)])
        #expect(plan.unassigned == 3)
        #expect(plan.wait?.description == "account a per_hour limit 300 reached until 2026-11-03T14:00:00Z")
    }

    @Test func noCandidatesMeansNoEligibleAccount() {
        #expect(AccountSelector.choose(among: [], at: now) == .noEligibleAccount)
        #expect(AccountSelector.distribute(3, among: [], at: now).unassigned == 3)
    }

    @Test func whenNothingHasRoomTheEarliestOpeningIsReported() {
        let choice = AccountSelector.choose(among: [candidate("sales", hour: 300), candidate("news", today: 2000),
                                                    candidate("ops", minute: 20, hour: 300, today: 2000)], at: now)
        guard case .wait(let reason) = choice else {
            Issue.record("expected a wait, got \(choice)")
            return
        }
        #expect(reason.description == "account sales per_hour limit 300 reached until 2026-11-03T14:00:00Z")
        #expect(reason.opening == .at(utc(2026, 11, 3, 14)))
    }

    @Test func waitReasonsSoonestFirst() {
        let reasons = AccountSelector.waitReasons(among: [
            candidate("d", pause: AccountPause(reason: .bounceRate(perMille: 72, sample: 200), resume: .operatorAction)),
            candidate("c", today: 2000),
            candidate("b", minute: 20),
            candidate("a", inFlight: 2),
            candidate("e", pause: AccountPause(reason: .problem(.unreachable),
                                                         resume: .healthCheck(notBefore: now + .minutes(2)))),
            candidate("f", minute: 20, pause: AccountPause(reason: .problem(.rateLimited(retryAfter: nil)),
                                                          resume: .at(now + .minutes(15)))),
            candidate("ok"),
        ], at: now)
        #expect(reasons.map(\.description) == [
            "account a all 2 connections busy",
            "account b per_minute limit 20 reached until 2026-11-03T13:21:00Z",
            "account e paused (unreachable) until a health check passes, from 2026-11-03T13:22:00Z",
            "account f paused (rate limited by the provider) until 2026-11-03T13:35:00Z",
            "account c per_day limit 2000 reached until 2026-11-04T00:00:00Z",
            "account d paused (bounce rate 7.2% over the last 200 sends) until an operator resumes it",
        ])
    }

    @Test func aPausedAccountAtALimitWaitsForTheLaterOfBoth() {
        let reasons = AccountSelector.waitReasons(among: [
            candidate("sales", today: 2000, pause: AccountPause(reason: .problem(.unreachable),
                                                                resume: .healthCheck(notBefore: now + .minutes(1)))),
        ], at: now)
        #expect(reasons.map(\.description) == ["account sales per_day limit 2000 reached until 2026-11-04T00:00:00Z"])
    }

    @Test func weightsBelowOneReadAsOne() {
        #expect(AccountCandidate(name: "a", weight: 0, status: limits.status(counters: RateCounters(), inFlight: 0,
                                                                                 at: now)).weight == 1)
    }
}
