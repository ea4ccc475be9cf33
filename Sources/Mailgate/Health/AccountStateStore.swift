// The shared account state in email_accounts that health checks, the
// bounce-rate judge and operators change, and the relay reads back each pass:
// what ends a pause (resume_on: window, health_check, operator), when the next
// health check is due, the last check's result. A passing check lifts only
// health-check pauses (and windows already over); an operator's pause (bounce
// rate, `accounts pause`) waits for `accounts resume`. Each change wakes the
// relays (NOTIFY mailgate_queue).
import Config
import Postgres
import RelayPolicy

/// An account's pause as recorded in email_accounts, read back by the relay.
struct RecordedAccountState {
    var name: String
    /// nil: active (or a window already over).
    var pause: AccountPause?

    static func read(_ row: PGRow, now: UTCInstant) -> RecordedAccountState? {
        guard let name = row.string("name"), let status = row.string("status") else { return nil }
        guard status != "active" else { return RecordedAccountState(name: name, pause: nil) }
        let reason = PauseReason.recorded(row.string("pause_reason") ?? "paused (\(status))")
        let until = row.string("paused_until_us").flatMap { Int64($0) }.map { UTCInstant(microsecondsSinceEpoch: $0) }
        let checkAfter = row.string("health_check_after_us").flatMap { Int64($0) }
            .map { UTCInstant(microsecondsSinceEpoch: $0) }
        let resume: ResumeCondition
        switch status == "disabled" ? "operator" : row.string("resume_on") {
        case "window":
            guard let until, until > now else { return RecordedAccountState(name: name, pause: nil) }
            resume = .at(until)
        case "health_check", nil:
            resume = .healthCheck(notBefore: checkAfter ?? now)
        default:
            resume = .operatorAction
        }
        return RecordedAccountState(name: name, pause: AccountPause(reason: reason, resume: resume))
    }
}

enum AccountStateStore {
    static let wakeRelays = PGStatement("SELECT pg_notify($1, 'accounts')", [PGValue(QueueWriter.notifyChannel)])

    /// Every account's recorded pause, for the relay's pass.
    static let recordedStates = PGStatement(
        """
        SELECT name, status, pause_reason, resume_on,
               (extract(epoch FROM paused_until) * 1000000)::bigint AS paused_until_us,
               (extract(epoch FROM health_check_after) * 1000000)::bigint AS health_check_after_us
        FROM email_accounts
        """)

    /// Mail held by this account's pause waits for a time far ahead (an operator's pause has
    /// none): once the account is active again, it is due at once, and so is mail the relay
    /// parked while no account at all could send.
    static func releaseHeldMail(_ name: String) -> PGStatement {
        PGStatement(
            """
            UPDATE email_sends SET next_attempt_at = now(), updated_at = now()
            WHERE status IN ('queued', 'deferred') AND next_attempt_at > now()
              AND (starts_with(wait_reason, 'account ' || $1 || ' paused') OR starts_with(wait_reason, $2))
              AND EXISTS (SELECT 1 FROM email_accounts WHERE name = $1 AND status = 'active')
            """, [PGValue(name), PGValue(RelayStore.noAccountMaySendReason)])
    }

    static func ensureRow(_ account: AccountConfig) -> PGStatement {
        PGStatement("INSERT INTO email_accounts (name, address) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    [PGValue(account.name), PGValue(account.address)])
    }

    /// A pause the relay decided; `resume_on` says what ends it.
    static func resumeOn(_ pause: AccountPause?) -> String? {
        guard let pause else { return nil }
        switch pause.resume {
        case .at: return "window"
        case .healthCheck: return "health_check"
        case .operatorAction: return "operator"
        }
    }

    /// Records a health check. Passed: healthy, and a health-check pause (or a window already
    /// over) is lifted. Failed: unhealthy, and an active account (or one already waiting for a
    /// check) is paused until a check passes, the next one due after `recheck`. Returns one row:
    /// status, pause_reason, lifted.
    static func recordCheck(_ account: AccountConfig, report: HealthCheckReport, recheck: Duration) -> [PGStatement] {
        let reason = "paused (health check failed: \(report.summary)) until a health check passes"
        return [ensureRow(account), PGStatement(
            """
            UPDATE email_accounts a SET
                health = CASE WHEN $2::boolean THEN 'healthy' ELSE 'unhealthy' END,
                last_health_check_at = now(), last_health_check_result = $3, updated_at = now(),
                status = CASE WHEN v.lift THEN 'active' WHEN v.pause THEN 'paused' ELSE a.status END,
                pause_reason = CASE WHEN v.lift THEN NULL WHEN v.pause THEN $4 ELSE a.pause_reason END,
                resume_on = CASE WHEN v.lift THEN NULL WHEN v.pause THEN 'health_check' ELSE a.resume_on END,
                paused_until = CASE WHEN v.lift OR v.pause THEN NULL ELSE a.paused_until END,
                health_check_after = CASE WHEN v.lift THEN NULL WHEN v.pause THEN now() + make_interval(secs => $5)
                                          ELSE a.health_check_after END
            FROM (SELECT name, status = 'paused' AND $2::boolean AND (resume_on IS NULL OR resume_on = 'health_check'
                                OR (resume_on = 'window' AND coalesce(paused_until, now()) <= now())) AS lift,
                         NOT $2::boolean AND (status = 'active' OR (status = 'paused' AND (resume_on IS NULL
                                OR resume_on = 'health_check' OR (resume_on = 'window'
                                AND coalesce(paused_until, now()) <= now())))) AS pause
                  FROM email_accounts WHERE name = $1 FOR UPDATE) v
            WHERE a.name = v.name
            RETURNING a.status, a.pause_reason, v.lift
            """,
            [PGValue(account.name), PGValue(report.passed), PGValue(report.summary), PGValue(reason),
             PGValue(RelayStore.seconds(recheck))]), releaseHeldMail(account.name), wakeRelays]
    }

    /// Claims the health checks due now among `names` (paused until a check passes, due time
    /// passed) and moves each one's due time on by `interval`, so one node runs each check.
    static func claimDueChecks(_ names: [String], interval: Duration) -> PGStatement {
        PGStatement(
            """
            UPDATE email_accounts SET health_check_after = now() + make_interval(secs => $2)
            WHERE name = ANY($1::text[]) AND status = 'paused' AND (resume_on IS NULL OR resume_on = 'health_check')
              AND coalesce(health_check_after, now()) <= now()
            RETURNING name
            """, [PGValue(arrayLiteral(names)), PGValue(RelayStore.seconds(interval))])
    }

    /// Account names are letters, digits and `. _ - @` (the config checks), so quoting each is enough.
    static func arrayLiteral(_ names: [String]) -> String {
        "{" + names.map { "\"\($0)\"" }.joined(separator: ",") + "}"
    }

    /// An operator's pause: it lasts until `resume`.
    static func pause(_ account: AccountConfig, reason: String) -> [PGStatement] {
        let sentence = AccountPause(reason: .recorded("paused (\(reason)) until an operator resumes it"),
                                    resume: .operatorAction).description
        return [ensureRow(account), PGStatement(
            """
            UPDATE email_accounts SET status = 'paused', pause_reason = $2, resume_on = 'operator', paused_until = NULL,
                   health_check_after = NULL, updated_at = now()
            WHERE name = $1
            """, [PGValue(account.name), PGValue(sentence)]), wakeRelays]
    }

    /// Lifts any pause; bounce rates count only sends from now on.
    static func resume(_ account: AccountConfig) -> [PGStatement] {
        [ensureRow(account), PGStatement(
            """
            UPDATE email_accounts SET status = 'active', pause_reason = NULL, resume_on = NULL, paused_until = NULL,
                   health_check_after = NULL, bounce_window_start = now(), updated_at = now()
            WHERE name = $1
            """, [PGValue(account.name)]), releaseHeldMail(account.name), wakeRelays]
    }

    /// Per active account among `names`: its last `window` sends since its bounce window
    /// started, and how many of them hard-bounced or drew a complaint.
    static func bounceRates(_ names: [String], window: Int) -> PGStatement {
        PGStatement(
            """
            SELECT a.name, count(s.id) AS sends,
                   count(s.id) FILTER (WHERE EXISTS (SELECT 1 FROM email_events e
                                                     WHERE e.send_id = s.id AND e.event IN ('bounced_hard', 'complained')))
                       AS bounces
            FROM email_accounts a
            CROSS JOIN LATERAL (SELECT id FROM email_sends s
                                WHERE s.account = a.name AND s.sent_at IS NOT NULL
                                  AND s.sent_at >= coalesce(a.bounce_window_start, '-infinity')
                                ORDER BY s.sent_at DESC LIMIT $2) s
            WHERE a.name = ANY($1::text[]) AND a.status = 'active'
            GROUP BY a.name
            """, [PGValue(arrayLiteral(names)), PGValue(window)])
    }

    /// The bounce-rate pause, unless the account is already paused.
    static func pauseForBounceRate(_ name: String, pause: AccountPause) -> [PGStatement] {
        [PGStatement(
            """
            UPDATE email_accounts SET status = 'paused', pause_reason = $2, resume_on = 'operator', paused_until = NULL,
                   health_check_after = NULL, updated_at = now()
            WHERE name = $1 AND status = 'active'
            RETURNING name
            """, [PGValue(name), PGValue(pause.description)]), wakeRelays]
    }
}
