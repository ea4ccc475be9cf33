// The operator's side of account state: `mailgate accounts test NAME` (run the
// health check now, record it, resume a health-check pause when it passes),
// `accounts pause NAME` and `accounts resume NAME`. Every change lands in
// email_accounts and wakes the relays of every node. `lines` renders a check
// for a terminal: one line per protocol with result and latency, then the
// account's standing after it.
import Config
import Postgres
import Reactor

public struct AccountCheckOutcome: Sendable {
    public var report: HealthCheckReport
    /// email_accounts after the check: active or paused, and why.
    public var status: String
    public var pauseReason: String?
    /// A pause the check lifted.
    public var resumed: Bool
}

public enum AccountsControl {
    /// Runs the check (and the test message when `testRecipient` is set), then records it.
    public static func test(reactor: Reactor, pool: PGPool, config: MailgateConfig, account: AccountConfig,
                            testRecipient: String?,
                            completion: @escaping (Result<AccountCheckOutcome, PGError>) -> Void) {
        let check = AccountHealthCheck(reactor: reactor, account: account, config: config, testRecipient: testRecipient)
        let tokens = OAuth2TokenService(reactor: reactor, pool: pool)
        check.oauth2 = tokens
        check.run { report in
            _ = (check, tokens)  // kept alive until its report arrives
            let statements = AccountStateStore.recordCheck(account, report: report,
                                                          recheck: config.relay.healthCheckInterval)
            pool.batch(statements) { result in
                completion(result.map { results in
                    let row = results.count > 1 ? results[1].first : nil
                    return AccountCheckOutcome(report: report, status: row?.string("status") ?? "unknown",
                                               pauseReason: row?.string("pause_reason"),
                                               resumed: row?.bool("lift") ?? false)
                })
            }
        }
    }

    public static func pause(pool: PGPool, account: AccountConfig, reason: String,
                             completion: @escaping (Result<Void, PGError>) -> Void) {
        pool.batch(AccountStateStore.pause(account, reason: reason)) { completion($0.map { _ in () }) }
    }

    public static func resume(pool: PGPool, account: AccountConfig, completion: @escaping (Result<Void, PGError>) -> Void) {
        pool.batch(AccountStateStore.resume(account)) { completion($0.map { _ in () }) }
    }

    /// For the terminal:
    /// `smtp       ok      42 ms  smtp://smtp.example.test:587`
    /// `imap       FAILED  12 ms  imaps://imap.example.test:993: login refused: ...`
    public static func lines(_ outcome: AccountCheckOutcome) -> [String] {
        var lines = ["account \(outcome.report.account): health check \(outcome.report.passed ? "passed" : "FAILED")"]
        for check in outcome.report.checks {
            let step = check.step.padding(toLength: 10, withPad: " ", startingAt: 0)
            let time = "\(check.milliseconds) ms".leftPadded(to: 8)
            switch check.outcome {
            case .passed:
                lines.append("  \(step) ok     \(time)  \(check.target)" + (check.detail.map { ": \($0)" } ?? ""))
            case .failed(let why):
                lines.append("  \(step) FAILED \(time)  \(check.target): \(why)")
            }
        }
        if outcome.resumed {
            lines.append("account \(outcome.report.account) resumed")
        } else if outcome.status != "active" {
            lines.append("account \(outcome.report.account) is \(outcome.status)"
                + (outcome.pauseReason.map { ": \($0)" } ?? ""))
            if outcome.report.passed {
                lines.append("(a health check lifts only a health pause; `mailgate accounts resume "
                    + "\(outcome.report.account)` lifts any)")
            }
        }
        return lines
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
