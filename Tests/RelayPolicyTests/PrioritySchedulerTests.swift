// Claim slots per priority class: everything when it fits; under a full pipe each non-empty
// class earns its guaranteed share (bulk 5%) and the rest goes critical first; fractions carry
// over between calls; empty classes bank nothing; no grant exceeds what is ready or the slots.
import MailCore
import RelayPolicy
import Testing

private let saturated = 1_000_000

@Suite struct PrioritySchedulerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var slots: Int
        var ready: [MessagePriority: Int]
        var expected: [MessagePriority: Int]
        var testDescription: String { label }
    }

    @Test(arguments: [
        Case(label: "everything fits", slots: 10, ready: [.critical: 3, .normal: 2, .bulk: 5],
             expected: [.critical: 3, .normal: 2, .bulk: 5]),
        Case(label: "exactly fits", slots: 10, ready: [.high: 4, .low: 6], expected: [.high: 4, .low: 6]),
        Case(label: "critical saturates beside bulk", slots: 100, ready: [.critical: saturated, .bulk: saturated],
             expected: [.critical: 95, .bulk: 5]),
        Case(label: "every class saturates", slots: 100,
             ready: [.critical: saturated, .high: saturated, .normal: saturated, .low: saturated, .bulk: saturated],
             expected: [.critical: 71, .high: 10, .normal: 8, .low: 6, .bulk: 5]),
        Case(label: "a class short of its share gives the rest away", slots: 100,
             ready: [.critical: saturated, .high: 3, .bulk: saturated], expected: [.critical: 92, .high: 3, .bulk: 5]),
        Case(label: "critical alone takes every slot", slots: 100, ready: [.critical: saturated],
             expected: [.critical: 100]),
        Case(label: "bulk alone takes every slot", slots: 100, ready: [.bulk: saturated], expected: [.bulk: 100]),
        Case(label: "the rest goes in strict order", slots: 60, ready: [.critical: 50, .high: 50, .normal: 50],
             expected: [.critical: 50, .high: 6, .normal: 4]),
        Case(label: "no slots", slots: 0, ready: [.critical: 5, .bulk: 5], expected: [:]),
        Case(label: "negative input reads as zero", slots: -3, ready: [.critical: -5], expected: [:]),
        Case(label: "nothing ready", slots: 10, ready: [:], expected: [:]),
    ])
    func firstAllocation(_ example: Case) {
        var scheduler = PriorityScheduler()
        let allocation = scheduler.allocate(slots: example.slots, ready: example.ready)
        #expect(MessagePriority.allCases.map { allocation[$0] } == MessagePriority.allCases.map { example.expected[$0] ?? 0 })
    }

    @Test func bulkNeverStarvesUnderASaturatingCriticalLoadOneSlotAtATime() {
        var scheduler = PriorityScheduler()
        var bulkCalls: [Int] = []
        for call in 1...2000 {
            if scheduler.allocate(slots: 1, ready: [.critical: saturated, .bulk: saturated])[.bulk] == 1 {
                bulkCalls.append(call)
            }
        }
        #expect(bulkCalls.count == 100)
        #expect(zip(bulkCalls, bulkCalls.dropFirst()).allSatisfy { $1 - $0 == 20 })
    }

    @Test(arguments: [UInt64(5), 6, 7])
    func everyClassGetsItsShareUnderFullLoadWithVaryingSlots(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var scheduler = PriorityScheduler()
        var totals: [MessagePriority: Int] = [:]
        var slotsOffered = 0
        let everything = Dictionary(uniqueKeysWithValues: MessagePriority.allCases.map { ($0, saturated) })
        for _ in 0..<3000 {
            let slots = Int.random(in: 1...40, using: &random)
            slotsOffered += slots
            let allocation = scheduler.allocate(slots: slots, ready: everything)
            for priority in MessagePriority.allCases { totals[priority, default: 0] += allocation[priority] }
        }
        // Lag behind the exact share is at most a few slots (one per class owed at the same time).
        for priority in [MessagePriority.high, .normal, .low, .bulk] {
            let share = scheduler.guaranteedPerMille(priority) * slotsOffered / 1000
            #expect(totals[priority, default: 0] >= share - 5, "\(priority.name)")
        }
        #expect(totals[.critical, default: 0] >= slotsOffered * 71 / 100 - 5)
    }

    @Test func anEmptyClassBanksNoCredit() {
        var scheduler = PriorityScheduler()
        for _ in 0..<500 { _ = scheduler.allocate(slots: 1, ready: [.critical: saturated]) }
        var bulkInTheFirst19 = 0
        for _ in 0..<19 { bulkInTheFirst19 += scheduler.allocate(slots: 1, ready: [.critical: saturated, .bulk: saturated])[.bulk] }
        #expect(bulkInTheFirst19 == 0)
        #expect(scheduler.allocate(slots: 1, ready: [.critical: saturated, .bulk: saturated])[.bulk] == 1)
    }

    @Test func aClassThatEmptiesLosesItsCredit() {
        var scheduler = PriorityScheduler()
        for _ in 0..<19 { _ = scheduler.allocate(slots: 1, ready: [.critical: saturated, .bulk: saturated]) }
        // Everything fits once: nobody waits, so nobody is owed anything afterwards.
        _ = scheduler.allocate(slots: 10, ready: [.critical: 1, .bulk: 1])
        var bulk = 0
        for _ in 0..<19 { bulk += scheduler.allocate(slots: 1, ready: [.critical: saturated, .bulk: saturated])[.bulk] }
        #expect(bulk == 0)
    }

    @Test func grantsNeverExceedTheSlotsOrWhatIsReady() {
        var random = SplitMix64(seed: 9)
        var scheduler = PriorityScheduler()
        var failures = 0
        for _ in 0..<5000 {
            let slots = Int.random(in: 0...30, using: &random)
            let ready = Dictionary(uniqueKeysWithValues: MessagePriority.allCases.map { ($0, Int.random(in: 0...12, using: &random)) })
            let allocation = scheduler.allocate(slots: slots, ready: ready)
            let readyTotal = ready.values.reduce(0, +)
            if allocation.total != min(slots, readyTotal) { failures += 1 }
            if MessagePriority.allCases.contains(where: { allocation[$0] > ready[$0, default: 0] }) { failures += 1 }
        }
        #expect(failures == 0)
    }

    @Test func orderedListsHighestFirstWithoutEmptyClasses() {
        var scheduler = PriorityScheduler()
        let allocation = scheduler.allocate(slots: 20, ready: [.bulk: 2, .critical: 3, .normal: 1])
        #expect(allocation.ordered.map(\.priority) == [.critical, .normal, .bulk])
        #expect(allocation.ordered.map(\.slots) == [3, 1, 2])
    }

    @Test(arguments: [
        [MessagePriority.bulk: 600, .low: 500],
        [.bulk: -1],
        [.critical: 1001],
    ])
    func invalidSharesAreRefused(shares: [MessagePriority: Int]) {
        #expect(PriorityScheduler(guaranteedPerMille: shares) == nil)
    }

    @Test func customSharesApply() {
        guard var scheduler = PriorityScheduler(guaranteedPerMille: [.bulk: 200]) else {
            Issue.record("valid shares refused")
            return
        }
        let allocation = scheduler.allocate(slots: 10, ready: [.critical: saturated, .high: saturated, .bulk: saturated])
        #expect([allocation[.critical], allocation[.high], allocation[.bulk]] == [8, 0, 2])
    }
}
