// Failed logins per client address (submission AUTH and IMAP LOGIN alike), as Postfix's anvil and Dovecot's auth
// penalty do: each failure delays the answer to the next attempt from that
// address (the configured delay, doubling per failure, capped at 15 s), and
// past `maxFailures` the session is ended. A success clears the address; an
// address quiet for ten minutes is forgotten, so the table stays small.

struct AuthThrottle {
    private struct Record {
        var failures: Int
        var lastFailure: UInt64
    }

    private static let forgetAfter: UInt64 = 600 * 1_000_000_000
    private static let longestDelay: Duration = .seconds(15)

    var baseDelay: Duration
    var maxFailures: Int
    private var records: [[UInt8]: Record] = [:]

    init(baseDelay: Duration, maxFailures: Int) {
        self.baseDelay = baseDelay
        self.maxFailures = maxFailures
    }

    /// How long to hold the reply to a login attempt from `address` (zero when it has no recent failures).
    mutating func delay(for address: [UInt8], now: UInt64) -> Duration {
        guard let record = current(address, now: now), record.failures > 0 else { return .zero }
        let doublings = min(record.failures - 1, 4)
        return min(baseDelay * (1 << doublings), Self.longestDelay)
    }

    /// Records a failure; true when the address has now failed too often and the session must end.
    @discardableResult
    mutating func recordFailure(from address: [UInt8], now: UInt64) -> Bool {
        var record = current(address, now: now) ?? Record(failures: 0, lastFailure: now)
        record.failures += 1
        record.lastFailure = now
        records[address] = record
        if records.count > 10_000 { forgetQuiet(now: now) }
        return record.failures >= maxFailures
    }

    mutating func recordSuccess(from address: [UInt8]) {
        records[address] = nil
    }

    private mutating func current(_ address: [UInt8], now: UInt64) -> Record? {
        guard let record = records[address] else { return nil }
        guard now &- record.lastFailure < Self.forgetAfter else {
            records[address] = nil
            return nil
        }
        return record
    }

    private mutating func forgetQuiet(now: UInt64) {
        records = records.filter { now &- $0.value.lastFailure < Self.forgetAfter }
    }
}
