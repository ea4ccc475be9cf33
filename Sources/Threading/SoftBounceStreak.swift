// When soft bounces add up to a suppression: an address's sends, newest
// first, each with what came back. Consecutive soft-bounced sends are counted
// until a send that was delivered (a positive DSN or receipt) or that has gone
// `quietPeriod` without any report (it got through, as far as anyone can
// tell); sends still within that period with no report are skipped. One send
// counts once however many reports it drew. Hard bounces end the walk.

public struct SentRecord: Sendable, Equatable {
    public var secondsSinceSent: Int64
    public var softBounced: Bool
    public var delivered: Bool
    public var hardBouncedOrComplained: Bool

    public init(secondsSinceSent: Int64, softBounced: Bool, delivered: Bool, hardBouncedOrComplained: Bool) {
        self.secondsSinceSent = secondsSinceSent
        self.softBounced = softBounced
        self.delivered = delivered
        self.hardBouncedOrComplained = hardBouncedOrComplained
    }
}

public enum SoftBounceStreak {
    public static let threshold = 3
    /// Three days: bounces come back within minutes or hours; a "delayed" one within the usual five-day
    /// retry horizon is still a report and so counts as one.
    public static let quietPeriod: Int64 = 3 * 86_400

    /// Consecutive soft-bounced sends, newest first.
    public static func count(_ sends: [SentRecord], quietPeriod: Int64 = quietPeriod) -> Int {
        var streak = 0
        for send in sends {
            if send.delivered || send.hardBouncedOrComplained { break }
            if send.softBounced {
                streak += 1
                continue
            }
            if send.secondsSinceSent >= quietPeriod { break }
        }
        return streak
    }

    public static func suppresses(_ sends: [SentRecord]) -> Bool { count(sends) >= threshold }
}
