// `mailgate accounts status`: per configured account, the shared state from
// email_accounts (status, pause reason and until, health) and the sends counted
// in email_rate_counters for the current UTC minute, hour and day, set against
// the config's limits and today's warm-up cap with RelayPolicy's RatePolicy,
// so the room and "held until" shown are the relay's own arithmetic. An
// account with no row yet shows as active/unknown with zero counters.
import Config
import Postgres
import RelayPolicy

public struct AccountStanding: Sendable {
    public var name: String
    /// false: a row in email_accounts whose account is no longer in the config.
    public var configured: Bool
    public var status: String
    public var pauseReason: String?
    public var pausedUntil: UTCInstant?
    public var health: String
    public var sentMinute: Int
    public var sentHour: Int
    public var sentDay: Int
    public var limits: AccountLimits
    public var warmupWeek: Int?
    public var warmupCap: Int?
    /// min(per_day, warm-up cap) today; nil when neither applies.
    public var dayCeiling: Int?
    public var inFlight: Int
    public var maxConnections: Int?
    public var rate: RateStatus?
}

public struct AccountsReport: Sendable {
    public var now: UTCInstant
    public var accounts: [AccountStanding]
}

public struct AccountsAdmin {
    let pool: PGPool

    public init(pool: PGPool) { self.pool = pool }

    public func status(config: MailgateConfig, completion: @escaping (Result<AccountsReport, PGError>) -> Void) {
        pool.batch([
            PGStatement("SELECT floor(extract(epoch FROM now()) * 1000000)::bigint AS now"),
            PGStatement("""
                SELECT name, status, pause_reason, \(SQLTime.seconds("paused_until")) AS paused_until, health
                FROM email_accounts ORDER BY name
                """),
            PGStatement("""
                SELECT account, window_kind, floor(extract(epoch FROM window_start) * 1000000)::bigint AS start, sent
                FROM email_rate_counters WHERE window_start > now() - interval '2 days'
                """),
            PGStatement("""
                SELECT account, count(*) AS n FROM email_sends
                WHERE status = 'sending' AND lease_expires_at > now() AND account IS NOT NULL GROUP BY account
                """),
        ]) { result in
            completion(result.flatMap { results in
                guard results.count == 4, let micros = results[0].first?.string("now").flatMap({ Int64($0) }) else {
                    return .failure(PGError(.unsupported, "expected four results"))
                }
                return .success(Self.report(config: config, now: UTCInstant(microsecondsSinceEpoch: micros),
                                            accounts: results[1], counters: results[2], inFlight: results[3]))
            })
        }
    }

    static func report(config: MailgateConfig, now: UTCInstant, accounts: PGResult, counters: PGResult,
                       inFlight: PGResult) -> AccountsReport {
        var rows: [String: PGRow] = [:]
        for row in accounts.rows { if let name = row.string("name") { rows[name] = row } }
        var windows: [String: [RateWindowKey: Int]] = [:]
        for row in counters.rows {
            guard let account = row.string("account"), let kind = row.string("window_kind").flatMap(RateWindowKind.init),
                  let start = row.string("start").flatMap({ Int64($0) }), let sent = row.int("sent") else { continue }
            windows[account, default: [:]][RateWindowKey(kind: kind, start: UTCInstant(microsecondsSinceEpoch: start))] = sent
        }
        var busy: [String: Int] = [:]
        for row in inFlight.rows { if let account = row.string("account") { busy[account] = row.int("n") ?? 0 } }

        func standing(name: String, account: AccountConfig?) -> AccountStanding {
            let row = rows[name]
            let counted = RateCounters(windows[name] ?? [:])
            let policy = account.map(\.ratePolicy)
            let date = now.date
            return AccountStanding(
                name: name, configured: account != nil, status: row?.string("status") ?? "active",
                pauseReason: row?.string("pause_reason"), pausedUntil: SQLTime.instant(row?["paused_until"]),
                health: row?.string("health") ?? "unknown",
                sentMinute: counted.count(.minute, at: now), sentHour: counted.count(.hour, at: now),
                sentDay: counted.count(.day, at: now), limits: account?.limits ?? AccountLimits(),
                warmupWeek: policy?.warmup?.week(on: date), warmupCap: policy?.warmup?.dailyCap(on: date),
                dayCeiling: policy?.ceiling(.day, at: now), inFlight: busy[name] ?? 0,
                maxConnections: account?.maxConnections,
                rate: policy?.status(counters: counted, inFlight: busy[name] ?? 0, at: now))
        }
        var standings = config.accounts.map { standing(name: $0.name, account: $0) }
        let configured = Set(config.accounts.map(\.name))
        for name in rows.keys.sorted() where !configured.contains(name) {
            standings.append(standing(name: name, account: nil))
        }
        return AccountsReport(now: now, accounts: standings)
    }

    // MARK: Output

    public static func lines(_ report: AccountsReport) -> [String] {
        guard !report.accounts.isEmpty else { return ["No accounts configured"] }
        var rows = [["ACCOUNT", "STATUS", "HEALTH", "MINUTE", "HOUR", "DAY", "WARM-UP TODAY", "CONNECTIONS", "ROOM"]]
        var notes: [String] = []
        for account in report.accounts {
            let warmup = account.warmupCap.map { cap in "\(cap) (week \(account.warmupWeek ?? 1))" } ?? "-"
            let room = account.rate.map { $0.room == Int.max ? "unlimited" : String($0.room) } ?? "-"
            rows.append([account.name, account.status, account.health,
                         used(account.sentMinute, of: account.limits.perMinute),
                         used(account.sentHour, of: account.limits.perHour),
                         used(account.sentDay, of: account.dayCeiling), warmup,
                         used(account.inFlight, of: account.maxConnections), room])
            if !account.configured { notes.append("\(account.name): in the database but not in the config") }
            if account.status != "active" || account.pauseReason != nil {
                var note = "\(account.name): \(account.status)"
                if let reason = account.pauseReason { note += ": \(reason)" }
                if let until = account.pausedUntil { note += " until \(AdminFormat.moment(until, now: report.now))" }
                notes.append(note)
            }
            if let hold = account.rate?.hold { notes.append("\(account.name): \(hold)") }
        }
        return AdminFormat.table(rows) + notes
    }

    public static func json(_ report: AccountsReport) -> [String] {
        report.accounts.map { account in
            AdminFormat.json([
                ("account", .string(account.name)), ("configured", .bool(account.configured)),
                ("status", .string(account.status)), ("pause_reason", .optional(account.pauseReason)),
                ("paused_until", .optional(account.pausedUntil)), ("health", .string(account.health)),
                ("sent_minute", .int(account.sentMinute)), ("limit_minute", .optional(account.limits.perMinute)),
                ("sent_hour", .int(account.sentHour)), ("limit_hour", .optional(account.limits.perHour)),
                ("sent_day", .int(account.sentDay)), ("limit_day", .optional(account.limits.perDay)),
                ("warmup_week", .optional(account.warmupWeek)), ("warmup_cap", .optional(account.warmupCap)),
                ("day_ceiling", .optional(account.dayCeiling)), ("in_flight", .int(account.inFlight)),
                ("max_connections", .optional(account.maxConnections)),
                ("room", .optional(account.rate.flatMap { $0.room == Int.max ? nil : $0.room })),
                ("held_by", .optional(account.rate?.hold.map { "\($0)" })),
            ])
        }
    }

    static func used(_ count: Int, of limit: Int?) -> String {
        limit.map { "\(count)/\($0)" } ?? "\(count)"
    }
}
