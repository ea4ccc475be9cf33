// What /metrics samples at scrape time: the pool's state (every scrape); from
// PostgreSQL the queue by priority and state, the oldest waiting recipient,
// each configured account's sends per UTC minute/hour/day against its limits
// and warm-up ceiling, its pause and health, suppressions by source. That part
// is reused for `databaseTTL` and awaited at most `databaseDeadline` (no
// hammering, no hanging); concurrent scrapes share one collection. Loop-confined.
import Config
import MailCore
import Metrics
import Postgres
import Reactor
import RelayPolicy

final class MetricsCollector {
    static let databaseTTL: Duration = .seconds(5)
    static let databaseDeadline: Duration = .seconds(3)
    static let queueStates = ["queued", "deferred", "sending", "held"]
    static let suppressionSources = ["bounce", "complaint", "unsubscribe", "admin"]
    static let healthStates = ["unknown", "healthy", "unhealthy"]

    private unowned let reactor: Reactor
    private let pool: PGPool
    private let config: () -> MailgateConfig

    private var databaseSampledAt: UInt64?
    private var waiters: [() -> Void] = []
    private var generation = 0
    private var partsPending = 0
    private var partsFailed = 0
    private var deadline: TimerID?

    private let poolConnections = ScrapeGaugeFamily("mailgate_db_pool_connections", labels: ["state"])
    private let poolWaiting = ScrapeGaugeFamily("mailgate_db_pool_waiting")
    private let poolSize = ScrapeGaugeFamily("mailgate_db_pool_size")
    private let poolErrors = SampledCounter("mailgate_db_pool_errors_total")
    private let poolOpened = SampledCounter("mailgate_db_pool_connections_opened_total")
    private let poolLost = SampledCounter("mailgate_db_pool_connections_lost_total")
    private let queueRecipients = ScrapeGaugeFamily("mailgate_queue_recipients", labels: ["priority", "state"])
    private let queueOldest = ScrapeGaugeFamily("mailgate_queue_oldest_age_seconds")
    private let accountSent = ScrapeGaugeFamily("mailgate_account_sent", labels: ["account", "window"])
    private let accountLimit = ScrapeGaugeFamily("mailgate_account_limit", labels: ["account", "window"])
    private let accountWarmup = ScrapeGaugeFamily("mailgate_account_warmup_ceiling", labels: ["account"])
    private let accountPaused = ScrapeGaugeFamily("mailgate_account_paused", labels: ["account"])
    private let accountPauseReason = ScrapeGaugeFamily("mailgate_account_pause_reason", labels: ["account", "reason"])
    private let accountHealth = ScrapeGaugeFamily("mailgate_account_health", labels: ["account", "health"])
    private let suppressions = ScrapeGaugeFamily("mailgate_suppressions", labels: ["source"])
    private let databaseAge = ScrapeGaugeFamily("mailgate_metrics_database_sample_age_seconds")

    init(reactor: Reactor, pool: PGPool, config: @escaping () -> MailgateConfig) {
        self.reactor = reactor
        self.pool = pool
        self.config = config
    }

    /// Refreshes the sampled metrics; `done` runs on the loop once they are as fresh as they will get.
    func collect(_ done: @escaping () -> Void) {
        samplePool()
        if let sampledAt = databaseSampledAt, reactor.now &- sampledAt < Self.nanoseconds(Self.databaseTTL) {
            recordDatabaseAge()
            return done()
        }
        waiters.append(done)
        guard waiters.count == 1 else { return }
        generation += 1
        let round = generation
        partsPending = 2
        partsFailed = 0
        deadline = reactor.schedule(after: Self.databaseDeadline) { [weak self] in
            self?.deadline = nil
            self?.finish(round, timedOut: true)
        }
        AccountsAdmin(pool: pool).status(config: config()) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let report): self.record(report)
            case .failure: self.partFailed("accounts")
            }
            self.partDone(round)
        }
        pool.batch([Self.queueDepth, Self.suppressionCounts]) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let results) where results.count == 2:
                self.recordQueue(results[0])
                self.recordSuppressions(results[1])
            case .success, .failure:
                self.partFailed("queue")
            }
            self.partDone(round)
        }
    }

    private func partFailed(_ part: String) {
        partsFailed += 1
        Counter(label: "mailgate_metrics_collection_errors_total", dimensions: [("part", part)]).increment()
    }

    private func partDone(_ round: Int) {
        guard round == generation else { return }
        partsPending -= 1
        if partsPending == 0 { finish(round, timedOut: false) }
    }

    private func finish(_ round: Int, timedOut: Bool) {
        guard round == generation, !waiters.isEmpty else { return }
        if let deadline { reactor.cancel(deadline) }
        deadline = nil
        if timedOut {
            Counter(label: "mailgate_metrics_collection_errors_total", dimensions: [("part", "timeout")]).increment()
        } else if partsFailed == 0 {
            databaseSampledAt = reactor.now
        }
        // A late part of this round still records its values; it no longer holds anyone up.
        generation += 1
        recordDatabaseAge()
        let answered = waiters
        waiters = []
        for waiter in answered { waiter() }
    }

    private func recordDatabaseAge() {
        guard let sampledAt = databaseSampledAt else { return databaseAge.sweep() }
        databaseAge.set(Double(reactor.now &- sampledAt) / 1e9)
        databaseAge.sweep()
    }

    // MARK: Pool

    private func samplePool() {
        let stats = pool.stats
        poolConnections.set(Double(stats.inUse), "in_use")
        poolConnections.set(Double(stats.idle), "idle")
        poolConnections.set(Double(stats.connecting), "connecting")
        poolWaiting.set(Double(stats.waiting))
        poolSize.set(Double(pool.size))
        poolErrors.sample(total: stats.errors)
        poolOpened.sample(total: stats.connectionsOpened)
        poolLost.sample(total: stats.connectionsLost)
    }

    // MARK: Queue and suppressions

    /// Per priority column and state, with the age of the oldest; each branch matches a partial
    /// index's predicate where there is one, so the cost follows the waiting work, not the history.
    static let queueDepth = PGStatement(
        """
        SELECT priority, status, count(*) AS n, extract(epoch FROM now() - min(created_at)) AS oldest
        FROM email_sends WHERE status IN ('queued', 'deferred') GROUP BY priority, status
        UNION ALL
        SELECT priority, status, count(*), extract(epoch FROM now() - min(created_at))
        FROM email_sends WHERE status = 'sending' GROUP BY priority, status
        UNION ALL
        SELECT priority, status, count(*), extract(epoch FROM now() - min(created_at))
        FROM email_sends WHERE status = 'held' GROUP BY priority, status
        """)

    static let suppressionCounts = PGStatement("SELECT source, count(*) AS n FROM email_suppressions GROUP BY source")

    private func recordQueue(_ result: PGResult) {
        var counts: [String: Int] = [:]
        var oldest = 0.0
        for row in result.rows {
            guard let column = row.int("priority"), let priority = MessagePriority(queueColumnValue: Int16(clamping: column)),
                  let state = row.string("status"), Self.queueStates.contains(state) else { continue }
            counts["\(priority.name) \(state)"] = row.int("n") ?? 0
            // Held recipients wait on purpose: they do not make the queue look stuck.
            if state != "held", let age = row.double("oldest") { oldest = max(oldest, age) }
        }
        for priority in MessagePriority.allCases {
            for state in Self.queueStates {
                queueRecipients.set(Double(counts["\(priority.name) \(state)"] ?? 0), priority.name, state)
            }
        }
        queueRecipients.sweep()
        queueOldest.set(oldest)
        queueOldest.sweep()
    }

    private func recordSuppressions(_ result: PGResult) {
        var counts = Dictionary(uniqueKeysWithValues: (Self.suppressionSources + ["other"]).map { ($0, 0) })
        for row in result.rows {
            let source = row.string("source").flatMap { Self.suppressionSources.contains($0) ? $0 : nil } ?? "other"
            counts[source, default: 0] += row.int("n") ?? 0
        }
        for (source, count) in counts { suppressions.set(Double(count), source) }
        suppressions.sweep()
    }

    // MARK: Accounts

    private func record(_ report: AccountsReport) {
        for account in report.accounts where account.configured {
            let name = account.name
            accountSent.set(Double(account.sentMinute), name, "minute")
            accountSent.set(Double(account.sentHour), name, "hour")
            accountSent.set(Double(account.sentDay), name, "day")
            for (window, limit) in [("minute", account.limits.perMinute), ("hour", account.limits.perHour),
                                    ("day", account.limits.perDay)] {
                if let limit { accountLimit.set(Double(limit), name, window) }
            }
            if let cap = account.warmupCap { accountWarmup.set(Double(cap), name) }
            let paused = Self.isPaused(account, now: report.now)
            accountPaused.set(paused ? 1 : 0, name)
            if paused { accountPauseReason.set(1, name, Self.pauseReason(status: account.status, text: account.pauseReason)) }
            for health in Self.healthStates { accountHealth.set(account.health == health ? 1 : 0, name, health) }
        }
        for family in [accountSent, accountLimit, accountWarmup, accountPaused, accountPauseReason, accountHealth] {
            family.sweep()
        }
    }

    static func isPaused(_ account: AccountStanding, now: UTCInstant) -> Bool {
        switch account.status {
        case "disabled": return true
        case "paused": return account.pausedUntil.map { $0 > now } ?? true
        default: return false
        }
    }

    /// email_accounts.pause_reason is a sentence (AccountPause's description); the label is its fixed word.
    static func pauseReason(status: String, text: String?) -> String {
        if status == "disabled" { return "disabled" }
        guard let text else { return "unknown" }
        let words: [(String, String)] = [
            (AccountProblem.authFailed.description, "auth_failed"),
            (AccountProblem.rateLimited(retryAfter: nil).description, "rate_limited"),
            (AccountProblem.quotaExhausted.description, "quota_exhausted"),
            (AccountProblem.suspended.description, "suspended"),
            (AccountProblem.unreachable.description, "unreachable"),
            ("bounce rate", "bounce_rate"),
        ]
        return words.first { text.contains($0.0) }?.1 ?? "other"
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
