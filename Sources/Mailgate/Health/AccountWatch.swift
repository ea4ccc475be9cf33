// serve's periodic account watch, every [relay] health_check_interval: claims
// the health checks that are due (accounts paused until a check passes, due
// time passed; one node claims each), runs them and records the results, so a
// passing account resumes on every node; then judges each active account's
// bounce rate over its last N sends and pauses one above the threshold until
// an operator resumes it. A rate or quota pause is not checked: its window ends it.
import Config
import Logging
import Postgres
import Reactor
import RelayPolicy

final class AccountWatch {
    private let reactor: Reactor
    private let pool: PGPool
    private var config: MailgateConfig
    private let logger = Logger(label: "health")
    private lazy var timer = JobTimer(reactor: reactor) { [weak self] in self?.tick() }
    private var running = false
    private var checks: [ObjectIdentifier: AccountHealthCheck] = [:]

    /// Access tokens for accounts with an oauth2 table.
    var oauth2: OAuth2TokenService?

    init(reactor: Reactor, pool: PGPool, config: MailgateConfig) {
        self.reactor = reactor
        self.pool = pool
        self.config = config
    }

    func start() {
        timer.schedule(after: .seconds(1))
    }

    func reload(_ newConfig: MailgateConfig) {
        config = newConfig
    }

    func stop() {
        timer.stop()
    }

    private var bouncePolicy: BounceRatePolicy {
        BounceRatePolicy(thresholdPerMille: config.relay.bounceRateThresholdPerMille,
                         window: config.relay.bounceRateWindow, minimumSample: config.relay.bounceRateMinimumSends)
    }

    private func tick() {
        guard !running, !timer.isStopped else { return }
        let names = config.accounts.map(\.name)
        guard !names.isEmpty else { return timer.schedule(after: config.relay.healthCheckInterval) }
        running = true
        let window = bouncePolicy.window
        pool.batch([AccountStateStore.claimDueChecks(names, interval: config.relay.healthCheckInterval),
                    AccountStateStore.bounceRates(names, window: window)]) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                self.logger.error("account watch failed", metadata: ["error": "\(error)"])
                self.finishTick()
            case .success(let results):
                self.judgeBounceRates(results[1])
                let due = results[0].rows.compactMap { $0.string("name") }.compactMap(self.config.account(named:))
                self.runChecks(due)
            }
        }
    }

    private func finishTick() {
        running = false
        timer.schedule(after: config.relay.healthCheckInterval)
    }

    // MARK: Health checks

    private func runChecks(_ accounts: [AccountConfig]) {
        var remaining = accounts.count
        guard remaining > 0 else { return finishTick() }
        for account in accounts {
            let check = AccountHealthCheck(reactor: reactor, account: account, config: config)
            check.oauth2 = oauth2
            let id = ObjectIdentifier(check)
            checks[id] = check
            check.run { [weak self] report in
                guard let self else { return }
                self.record(account, report) {
                    self.reactor.schedule(after: .zero) { self.checks[id] = nil }
                    remaining -= 1
                    if remaining == 0 { self.finishTick() }
                }
            }
        }
    }

    private func record(_ account: AccountConfig, _ report: HealthCheckReport, then done: @escaping () -> Void) {
        var metadata: Logger.Metadata = ["account": "\(account.name)", "result": "\(report.summary)"]
        for check in report.checks { metadata["\(check.step)_ms"] = "\(check.milliseconds)" }
        if report.passed {
            logger.info("health check passed", metadata: metadata)
        } else {
            logger.warning("health check failed", metadata: metadata)
        }
        let statements = AccountStateStore.recordCheck(account, report: report, recheck: config.relay.healthCheckInterval)
        pool.batch(statements) { [logger] result in
            switch result {
            case .failure(let error):
                logger.error("cannot record the health check", metadata: ["account": "\(account.name)",
                                                                          "error": "\(error)"])
            case .success(let results):
                if results.count > 1, results[1].first?.bool("lift") == true {
                    logger.info("account resumed: health check passed", metadata: ["account": "\(account.name)"])
                }
            }
            done()
        }
    }

    // MARK: Bounce rate

    private func judgeBounceRates(_ rows: PGResult) {
        let policy = bouncePolicy
        for row in rows.rows {
            guard let name = row.string("name"), let sends = row.int("sends"), let bounces = row.int("bounces"),
                  let pause = policy.pause(sends: sends, bounces: bounces) else { continue }
            pool.batch(AccountStateStore.pauseForBounceRate(name, pause: pause)) { [logger] result in
                switch result {
                case .failure(let error):
                    logger.error("cannot record the bounce-rate pause", metadata: ["account": "\(name)",
                                                                                    "error": "\(error)"])
                case .success(let results):
                    guard results.first?.isEmpty == false else { return }
                    logger.warning("account paused", metadata: ["account": "\(name)", "pause": "\(pause)",
                                                                "sends": "\(sends)", "bounces": "\(bounces)"])
                }
            }
        }
    }
}
