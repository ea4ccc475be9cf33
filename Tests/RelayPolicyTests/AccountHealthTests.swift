// Account pauses per problem (window reset, back-off, health check, hints), whether a pause is
// still active, and the bounce-rate verdict around its threshold and minimum sample.
import MailCore
import RelayPolicy
import Testing

@Suite struct AccountHealthTests {
    static let now = utc(2026, 11, 3, 13, 20)
    let policy = HealthPolicy()

    @Test(arguments: [
        (AccountProblem.quotaExhausted, 1, ResumeCondition.at(utc(2026, 11, 4))),
        (.quotaExhausted, 9, .at(utc(2026, 11, 4))),
        (.rateLimited(retryAfter: nil), 1, .at(now + .minutes(5))),
        (.rateLimited(retryAfter: nil), 2, .at(now + .minutes(15))),
        (.rateLimited(retryAfter: nil), 3, .at(now + .minutes(60))),
        (.rateLimited(retryAfter: nil), 50, .at(now + .minutes(60))),
        (.rateLimited(retryAfter: .minutes(30)), 1, .at(now + .minutes(30))),
        (.rateLimited(retryAfter: .minutes(1)), 2, .at(now + .minutes(15))),
        (.rateLimited(retryAfter: .hours(24 * 400)), 1, .at(now + .hours(24))),
        (.unreachable, 1, .healthCheck(notBefore: now + .minutes(1))),
        (.unreachable, 0, .healthCheck(notBefore: now + .minutes(1))),
        (.unreachable, 3, .healthCheck(notBefore: now + .minutes(5))),
        (.unreachable, 99, .healthCheck(notBefore: now + .minutes(30))),
        (.authFailed, 1, .healthCheck(notBefore: now + .hours(1))),
        (.suspended, 1, .healthCheck(notBefore: now + .hours(6))),
    ])
    func pauseFor(problem: AccountProblem, consecutive: Int, resume: ResumeCondition) {
        #expect(policy.pause(for: problem, consecutive: consecutive, at: Self.now)
            == AccountPause(reason: .problem(problem), resume: resume))
    }

    @Test func quotaJustBeforeMidnightPausesUntilMidnight() {
        let late = utc(2026, 11, 3, 23, 59, 59, micro: 999_000)
        #expect(policy.pause(for: .quotaExhausted, consecutive: 1, at: late).resume == .at(utc(2026, 11, 4)))
    }

    @Test func activity() {
        let timed = AccountPause(reason: .problem(.quotaExhausted), resume: .at(utc(2026, 11, 4)))
        #expect(timed.isActive(at: utc(2026, 11, 3, 23, 59, 59, micro: 999_999)))
        #expect(!timed.isActive(at: utc(2026, 11, 4)))
        let check = AccountPause(reason: .problem(.unreachable), resume: .healthCheck(notBefore: Self.now))
        #expect(check.isActive(at: Self.now + .hours(5)))
        #expect(AccountPause(reason: .bounceRate(perMille: 60, sample: 200), resume: .operatorAction).isActive(at: Self.now))
    }

    @Test(arguments: [
        // sends, bounces, verdict (default: above 5% of at least 100 of the last 200 sends)
        (0, 0, BounceRateVerdict.tooFewSends(0)),
        (99, 50, .tooFewSends(99)),
        (100, 5, .healthy(perMille: 50)),
        (100, 6, .pause(perMille: 60)),
        (200, 10, .healthy(perMille: 50)),
        (200, 11, .pause(perMille: 55)),
        (199, 10, .pause(perMille: 50)),     // 5.03%: above, though it rounds down to 50‰
        (200, 0, .healthy(perMille: 0)),
        (200, 500, .pause(perMille: 1000)),  // bounces capped at the sends
        (-5, 3, .tooFewSends(0)),
    ])
    func bounceRate(sends: Int, bounces: Int, verdict: BounceRateVerdict) {
        #expect(BounceRatePolicy().verdict(sends: sends, bounces: bounces) == verdict)
    }

    @Test func onlyTheLastWindowOfSendsCounts() {
        let old = Array(repeating: true, count: 500)
        let recent = Array(repeating: false, count: 195) + Array(repeating: true, count: 5)
        #expect(BounceRatePolicy().verdict(recent: old + recent) == .healthy(perMille: 25))
        #expect(BounceRatePolicy().verdict(recent: recent + [true]) == .healthy(perMille: 30))
    }

    @Test func aBounceRatePauseWaitsForAnOperator() {
        #expect(BounceRatePolicy().pause(sends: 200, bounces: 20)
            == AccountPause(reason: .bounceRate(perMille: 100, sample: 200), resume: .operatorAction))
        #expect(BounceRatePolicy().pause(sends: 200, bounces: 10) == nil)
        #expect(BounceRatePolicy().pause(sends: 20, bounces: 20) == nil)
    }

    @Test func customThresholds() {
        let strict = BounceRatePolicy(thresholdPerMille: 20, window: 50, minimumSample: 500)
        #expect(strict.minimumSample == 50)
        #expect(strict.verdict(sends: 50, bounces: 2) == .pause(perMille: 40))
    }

    @Test(arguments: [
        (AccountPause(reason: .problem(.quotaExhausted), resume: .at(utc(2026, 11, 4))),
         "paused (daily quota exhausted) until 2026-11-04T00:00:00Z"),
        (AccountPause(reason: .problem(.authFailed), resume: .healthCheck(notBefore: utc(2026, 11, 3, 14, 20))),
         "paused (login failed) until a health check passes, from 2026-11-03T14:20:00Z"),
        (AccountPause(reason: .bounceRate(perMille: 55, sample: 200), resume: .operatorAction),
         "paused (bounce rate 5.5% over the last 200 sends) until an operator resumes it"),
        (AccountPause(reason: .recorded("paused (login failed) until a health check passes"), resume: .operatorAction),
         "paused (login failed) until a health check passes"),
    ])
    func pauseText(pause: AccountPause, text: String) {
        #expect(pause.description == text)
    }
}
