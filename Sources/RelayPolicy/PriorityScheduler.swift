// How many of the next N claim slots go to each priority class. Rule: when every ready message
// fits, each class gets all of its ready messages (strict order costs nothing). When the pipe is
// full, every non-empty class first earns its guaranteed share of the slots (default: high 10%,
// normal 8%, low 6%, bulk 5%, critical 0%), carrying fractions of a slot over to the next call as
// credit, and the slots left go in strict priority order, critical first. So bulk gets >= 5% under
// any load and critical >= 71%; an empty class earns nothing and banks no credit (its share
// falls to the others). Credit is per node; each node keeps its own scheduler.

import MailCore

public struct PriorityAllocation: Sendable, Hashable {
    /// Slots per class, indexed by `MessagePriority.rawValue`.
    var counts: [Int]

    public subscript(priority: MessagePriority) -> Int { counts[priority.rawValue] }

    public var total: Int { counts.reduce(0, +) }

    /// Non-empty grants, highest class first: the order in which to claim.
    public var ordered: [(priority: MessagePriority, slots: Int)] {
        MessagePriority.allCases.reversed().compactMap { counts[$0.rawValue] > 0 ? ($0, counts[$0.rawValue]) : nil }
    }
}

public struct PriorityScheduler: Sendable, Hashable {
    /// Guaranteed shares in thousandths of the slots: critical 0, high 100, normal 80, low 60, bulk 50.
    public static let defaultGuaranteedPerMille: [MessagePriority: Int] = [
        .critical: 0, .high: 100, .normal: 80, .low: 60, .bulk: 50,
    ]
    /// Slot counts above this are treated as this (keeps the credit arithmetic far from overflow).
    static let largestSlotCount = 1 << 30
    static let creditPerSlot = 1000

    /// Per class, indexed by `MessagePriority.rawValue`.
    let guaranteed: [Int]
    /// Earned and not yet used share of a slot, in thousandths, per class.
    private(set) var credit: [Int]

    public init() {
        self.init(checked: Self.defaultGuaranteedPerMille)
    }

    /// nil unless every share is in 0...1000 and they sum to at most 1000. Classes left out get 0.
    public init?(guaranteedPerMille: [MessagePriority: Int]) {
        let values = guaranteedPerMille.values
        guard values.allSatisfy({ (0...1000).contains($0) }), values.reduce(0, +) <= 1000 else { return nil }
        self.init(checked: guaranteedPerMille)
    }

    private init(checked shares: [MessagePriority: Int]) {
        guaranteed = MessagePriority.allCases.map { shares[$0] ?? 0 }
        credit = Array(repeating: 0, count: MessagePriority.allCases.count)
    }

    public func guaranteedPerMille(_ priority: MessagePriority) -> Int { guaranteed[priority.rawValue] }

    /// Decides the next `slots` claims given the ready (claimable) messages per class. Counts may
    /// be capped at `slots` by the caller (a LIMITed count); negative values read as zero.
    public mutating func allocate(slots: Int, ready: [MessagePriority: Int]) -> PriorityAllocation {
        let slots = min(max(0, slots), Self.largestSlotCount)
        let classes = MessagePriority.allCases.count
        let waiting = MessagePriority.allCases.map { min(max(0, ready[$0] ?? 0), Self.largestSlotCount) }
        var granted = Array(repeating: 0, count: classes)
        if waiting.reduce(0, +) <= slots {
            granted = waiting
        } else {
            var free = slots
            for index in 0..<classes where waiting[index] > 0 {
                credit[index] += guaranteed[index] * slots
            }
            // Guaranteed slots: most credit first, then the higher class, so that when small N
            // cannot pay every class at once the one owed longest is paid now and the rest next time.
            let owed = (0..<classes).filter { waiting[$0] > 0 }
                .sorted { (credit[$0], $0) > (credit[$1], $1) }
            for index in owed {
                let share = min(waiting[index], credit[index] / Self.creditPerSlot, free)
                granted[index] = share
                free -= share
            }
            // The rest in strict priority order.
            for index in (0..<classes).reversed() where free > 0 {
                let more = min(waiting[index] - granted[index], free)
                granted[index] += more
                free -= more
            }
        }
        // Slots a class got pay off its credit; a class left with nothing waiting banks nothing.
        for index in 0..<classes {
            credit[index] = waiting[index] - granted[index] > 0
                ? max(0, credit[index] - granted[index] * Self.creditPerSlot) : 0
        }
        return PriorityAllocation(counts: granted)
    }
}
