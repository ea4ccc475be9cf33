// Failed IMAP logins per client address, in the manner of Dovecot's auth
// penalty: after a failure, the next check from that address waits 1 s, then
// 2, 4, 8, capped at 15 s; a success clears the address, and an address quiet
// for ten minutes is forgotten. The table is bounded: past maxTracked entries
// the quiet ones are dropped, and if all are recent the oldest go.

struct IMAPLoginThrottle {
    private struct Record {
        var failures: Int
        var lastFailure: UInt64
    }

    static let baseDelay: Duration = .seconds(1)
    static let longestDelay: Duration = .seconds(15)
    static let forgetAfter: UInt64 = 600 * 1_000_000_000
    static let maxTracked = 10_000

    private var records: [[UInt8]: Record] = [:]

    var trackedCount: Int { records.count }

    /// How long to hold a login attempt from `address` before checking it.
    mutating func delay(for address: [UInt8], now: UInt64) -> Duration {
        guard let record = current(address, now: now), record.failures > 0 else { return .zero }
        let doublings = min(record.failures - 1, 4)
        return min(Self.baseDelay * (1 << doublings), Self.longestDelay)
    }

    mutating func recordFailure(from address: [UInt8], now: UInt64) {
        var record = current(address, now: now) ?? Record(failures: 0, lastFailure: now)
        record.failures = min(record.failures + 1, 1_000)
        record.lastFailure = now
        records[address] = record
        if records.count > Self.maxTracked { shrink(now: now) }
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

    private mutating func shrink(now: UInt64) {
        records = records.filter { now &- $0.value.lastFailure < Self.forgetAfter }
        guard records.count > Self.maxTracked else { return }
        let newestFirst = records.sorted { $0.value.lastFailure > $1.value.lastFailure }
        records = Dictionary(uniqueKeysWithValues: newestFirst.prefix(Self.maxTracked / 2).map { ($0.key, $0.value) })
    }
}
