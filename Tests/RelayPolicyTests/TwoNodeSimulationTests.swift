// 10,000 claims from two nodes sharing one set of counters, each planning from its own stale
// copy and committing through `RatePolicy.take` (the pure twin of the conditional upsert), over
// about four simulated weeks: across warm-up weeks, the plan's end and the European DST change. No
// minute, hour or day window may end above its ceiling, and connections never exceed the limit.
import RelayPolicy
import Testing

@Suite struct TwoNodeSimulationTests {
    struct Node {
        var snapshot = RateCounters()
        var snapshotInFlight = 0
        var inFlight = 0
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func sharedCountersNeverOvershoot(seed: UInt64) {
        // From 2026-10-20: warm-up week 3 (450/day) to 10-26, week 4 from 10-27 (900, so per_day
        // 600 binds), warm from 11-03; the European DST change falls on 10-25.
        let policy = RatePolicy(perMinute: 20, perHour: 120, perDay: 600,
                                warmup: WarmupSchedule(started: date(2026, 10, 6), dailyPerWeek: [150, 300, 450, 900]),
                                maxConnections: 4)
        var random = SplitMix64(seed: seed)
        var shared = RateCounters()
        var ledger: [RateWindowKey: Int] = [:]
        var nodes = [Node(), Node()]
        var now = utc(2026, 10, 20, 6)
        var staleCommitsThatWouldOvershoot = 0
        var granted = 0
        var violations: [String] = []

        for _ in 0..<10_000 {
            let step = Int.random(in: 0..<100, using: &random)
            let seconds: Int64 = step < 70 ? .random(in: 0...2, using: &random)
                : step < 99 ? .random(in: 0...600, using: &random) : .random(in: 0...28_800, using: &random)
            now = now + .microseconds(seconds * 1_000_000 + Int64.random(in: 0..<1_000_000, using: &random))
            let index = Int.random(in: 0...1, using: &random)
            // The node's sends in progress finish; it sometimes re-reads the shared counters.
            nodes[index].inFlight = 0
            let sharedInFlight = nodes[0].inFlight + nodes[1].inFlight
            if Int.random(in: 0..<10, using: &random) < 3 {
                nodes[index].snapshot = shared
                nodes[index].snapshotInFlight = sharedInFlight
            }
            let planned = policy.room(counters: nodes[index].snapshot, inFlight: nodes[index].snapshotInFlight, at: now)
            let wanted = min(Int.random(in: 1...8, using: &random), planned)
            guard wanted > 0 else { continue }
            if wanted > policy.room(counters: shared, inFlight: sharedInFlight, at: now) { staleCommitsThatWouldOvershoot += 1 }

            let got = policy.take(wanted, from: &shared, inFlight: sharedInFlight, at: now)
            granted += got
            nodes[index].inFlight += got
            for kind in RateWindowKind.allCases where got > 0 {
                let key = kind.key(containing: now)
                ledger[key, default: 0] += got
                if let ceiling = policy.ceiling(kind, at: key.start), ledger[key, default: 0] > ceiling {
                    violations.append("\(key) at \(ledger[key, default: 0]) over \(ceiling)")
                }
                if shared.sent[key] != ledger[key] { violations.append("\(key) counter differs from the ledger") }
            }
            if nodes[0].inFlight + nodes[1].inFlight > 4 { violations.append("connections over 4 at \(now)") }
        }

        #expect(violations == [])
        // The run had teeth: stale plans that would have overshot were cut, and limits were reached.
        #expect(staleCommitsThatWouldOvershoot > 100)
        #expect(ledger.contains { $0.key.kind == .minute && $0.value == 20 })
        #expect(ledger.contains { $0.key.kind == .hour && $0.value == 120 })
        #expect(ledger.contains { $0.key.kind == .day && $0.key.start < utc(2026, 10, 27) && $0.value == 450 })
        #expect(ledger.contains { $0.key.kind == .day && $0.key.start >= utc(2026, 10, 27) && $0.value == 600 })
        #expect(now > utc(2026, 11, 2))
        #expect(granted > 10_000)
    }
}
