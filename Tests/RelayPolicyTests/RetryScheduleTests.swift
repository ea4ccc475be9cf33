// Retry delays by attempt with the jitter band at its edges and centre, hints honoured when
// later (and capped), expiry after the last delay, seeded random jitter within ±10%.
import RelayPolicy
import Testing

@Suite struct RetryScheduleTests {
    let schedule = RetrySchedule()

    @Test(arguments: [
        // failed attempts, jitter, hint, expected
        (1, 0.0, nil as Duration?, RetryDecision.retry(after: .minutes(2), attempt: 2)),
        (2, 0.0, nil, .retry(after: .minutes(4), attempt: 3)),
        (3, 0.0, nil, .retry(after: .minutes(8), attempt: 4)),
        (4, 0.0, nil, .retry(after: .minutes(16), attempt: 5)),
        (5, 0.0, nil, .retry(after: .minutes(32), attempt: 6)),
        (6, 0.0, nil, .expired),
        (60, 0.0, nil, .expired),
        (0, 0.0, nil, .retry(after: .minutes(2), attempt: 2)),
        (-4, 0.0, nil, .retry(after: .minutes(2), attempt: 2)),
        (1, 1.0, nil, .retry(after: .seconds(132), attempt: 2)),
        (1, -1.0, nil, .retry(after: .seconds(108), attempt: 2)),
        (5, 1.0, nil, .retry(after: .seconds(2112), attempt: 6)),
        (5, -1.0, nil, .retry(after: .seconds(1728), attempt: 6)),
        (1, 7.0, nil, .retry(after: .seconds(132), attempt: 2)),
        (1, .nan, nil, .retry(after: .minutes(2), attempt: 2)),
        (1, 0.0, .minutes(10), .retry(after: .minutes(10), attempt: 2)),
        (3, 0.0, .minutes(5), .retry(after: .minutes(8), attempt: 4)),
        (1, 1.0, .seconds(130), .retry(after: .seconds(132), attempt: 2)),
        (1, 0.0, .seconds(-50), .retry(after: .minutes(2), attempt: 2)),
        (1, 0.0, .hours(24 * 365), .retry(after: .hours(24), attempt: 2)),
        (6, 0.0, .minutes(10), .expired),
    ])
    func decision(failed: Int, jitter: Double, hint: Duration?, expected: RetryDecision) {
        #expect(schedule.decision(afterFailedAttempts: failed, hint: hint, jitter: jitter) == expected)
    }

    @Test func configuredDelays() {
        let custom = RetrySchedule(delays: [.seconds(30), .hours(1)], jitterPerMille: 0)
        #expect(custom.maximumAttempts == 3)
        #expect(custom.decision(afterFailedAttempts: 2, hint: nil, jitter: 1) == .retry(after: .hours(1), attempt: 3))
        #expect(custom.decision(afterFailedAttempts: 3, hint: nil, jitter: 0) == .expired)
        #expect(RetrySchedule(delays: []).decision(afterFailedAttempts: 1, hint: nil, jitter: 0) == .expired)
    }

    @Test func randomJitterStaysInTheBandAndSpreads() {
        var random = SplitMix64(seed: 3)
        var seen: Set<Duration> = []
        var outside = 0
        for _ in 0..<2000 {
            guard case .retry(let after, _) = schedule.decision(afterFailedAttempts: 2, hint: nil, using: &random) else {
                outside += 1
                continue
            }
            if after < .seconds(216) || after > .seconds(264) { outside += 1 }
            seen.insert(after)
        }
        #expect(outside == 0)
        #expect(seen.count > 1000)
    }

    @Test func defaultsMatchTheConfigDefaults() {
        #expect(RetrySchedule.defaultDelays == [2, 4, 8, 16, 32].map { Duration.minutes($0) })
        #expect(schedule.maximumAttempts == 6)
    }
}
