// The relay's verdicts and their consequences: each recipient's outcome from the
// upstream's result (sent, retried on the schedule, failed with a notice, or an
// account problem that costs no attempt), the batch that records them (with
// relaxed durability when nothing in it must survive a crash), and account
// pauses: set here, adopted from other nodes and admins at every pass.
import Config
import Logging
import MailCore
import Postgres
import RelayPolicy
import SMTPProtocol

extension RelayEngine {
    // MARK: Outcomes

    func outcomes(_ result: SMTPMessageResult, job: Job, account: RelayAccount) -> [(ClaimedRecipient, RecipientUpdate)] {
        var updates: [(ClaimedRecipient, RecipientUpdate)] = []
        var accountProblem: (AccountProblem, String)?
        for (claimed, recipientResult) in zip(job.recipients, result.recipients) {
            let replyText = Self.text(recipientResult.reply)
            switch recipientResult.outcome {
            case .accepted:
                let reply = result.dataReply ?? recipientResult.reply
                updates.append((claimed, .sent(account: account.name, reply: Self.text(reply),
                                               upstreamQueueID: result.upstreamQueueID)))
            case .failPermanently:
                updates.append((claimed, .failed(reason: replyText, reply: replyText, account: account.name)))
            case .retryMessage(let hint):
                updates.append(temporaryFailure(claimed, reason: replyText, hint: hint, account: account.name))
            case .recipientLimit:
                updates.append((claimed, .retry(after: .zero, reason: replyText, costsAttempt: false,
                                                account: account.name)))
            case .accountProblem(let problem):
                accountProblem = (problem, replyText)
                updates.append((claimed, .retry(after: .zero, reason: "account \(account.name): \(replyText)",
                                                costsAttempt: false, account: account.name)))
            }
        }
        if let (problem, detail) = accountProblem { pause(account, problem: problem, detail: detail) }
        return updates
    }

    func temporaryFailure(_ claimed: ClaimedRecipient, reason: String, hint: Duration?,
                                  account: String?) -> (ClaimedRecipient, RecipientUpdate) {
        switch retrySchedule.decision(afterFailedAttempts: claimed.attempts + 1, hint: hint,
                                      jitter: Double.random(in: -1...1)) {
        case .retry(let after, _):
            return (claimed, .retry(after: after, reason: reason, costsAttempt: true, account: account))
        case .expired:
            return (claimed, .failed(reason: "expired: \(reason)", reply: nil, account: account))
        }
    }

    func retryAll(_ job: Job, reason: String, after: Duration = .zero) -> [(ClaimedRecipient, RecipientUpdate)] {
        job.recipients.map { ($0, .retry(after: after, reason: reason, costsAttempt: false, account: nil)) }
    }

    func record(_ updates: [(ClaimedRecipient, RecipientUpdate)], for job: Job, finishing: Bool = true) {
        var statements = updates.flatMap { claimed, update in
            RelayStore.update(claimed.sendID, queueID: claimed.queueID, recipient: claimed.recipient, update)
        }
        let failures = updates.compactMap { claimed, update -> FailedRecipient? in
            guard case .failed(let reason, let reply, _) = update else { return nil }
            return FailedRecipient(claimed: claimed, reply: reply ?? reason, expired: reply == nil)
        }
        statements += DeliveryNotice.statements(for: job.message, failures: failures, hostname: config.server.hostname)
        for (claimed, update) in updates { log(update, claimed) }
        if !updates.contains(where: { $0.1.mustBeDurable }) { statements.insert(.relaxedCommit, at: 0) }
        let makesWork = updates.contains { $0.1.makesWork }
        recordsInFlight += 1
        pool.batch(statements) { [weak self] result in
            guard let self else { return }
            if case .failure(let error) = result {
                // Leases expire and the recipients are tried again: at least once, never lost.
                self.logger.error("cannot record outcomes", metadata: ["queue_id": "\(job.message.queueID)",
                                                                       "error": "\(error)"])
            }
            self.recordsInFlight -= 1
            if self.draining {
                if self.jobsInFlight == 0, self.recordsInFlight == 0 { self.finishDrain() }
            } else if makesWork {
                self.requestPass()
            }
        }
        if finishing { jobFinished() }
    }

    /// The job's slot serves the next claim at once, while its outcome commits: the recipients
    /// stay leased (status sending) until then, so no pass takes them again, and waiting for the
    /// commit kept each of the account's connections idle for an fsync per message.
    func jobFinished() {
        jobsInFlight -= 1
        if draining {
            if jobsInFlight == 0, recordsInFlight == 0 { finishDrain() }
        } else {
            requestPass()
        }
    }

    func log(_ update: RecipientUpdate, _ claimed: ClaimedRecipient) {
        var metadata: Logger.Metadata = ["queue_id": "\(claimed.queueID)", "recipient": "\(claimed.recipient)"]
        switch update {
        case .sent(let account, let reply, _):
            metadata["account"] = "\(account)"
            metadata["reply"] = "\(reply)"
            logger.info("sent", metadata: metadata)
            MailgateMetrics.relayed(.sent, account: account)
        case .retry(let after, let reason, let costsAttempt, let account, let recordEvent):
            // Waits for a busy connection are not outcomes (no event row either).
            if recordEvent { MailgateMetrics.relayed(.deferred, account: account) }
            metadata["retry_in"] = "\(Int(RelayStore.seconds(after)))s"
            metadata["reason"] = "\(reason)"
            metadata["counts_attempt"] = "\(costsAttempt)"
            logger.info("deferred", metadata: metadata)
        case .failed(let reason, _, let account):
            MailgateMetrics.relayed(.failed, account: account)
            metadata["reason"] = "\(reason)"
            logger.warning("failed", metadata: metadata)
        case .suppressed:
            MailgateMetrics.relayed(.suppressed, account: nil)
            logger.info("suppressed", metadata: metadata)
        }
    }

    // MARK: Account health

    func pause(_ account: RelayAccount, problem: AccountProblem, detail: String) {
        account.consecutiveProblems += 1
        let pause = health.pause(for: problem, consecutive: account.consecutiveProblems, at: .now)
        account.pause = pause
        account.pauseGeneration += 1
        account.pauseWritesPending += 1
        for session in account.idle { session.quit() }
        logger.warning("account paused", metadata: ["account": "\(account.name)", "pause": "\(pause)",
                                                    "detail": "\(detail)"])
        pool.batch([RelayStore.recordPause(account.name, address: account.config.address, pause: pause)]) { [logger] result in
            account.pauseWritesPending -= 1
            if case .failure(let error) = result {
                logger.error("cannot record the account's pause", metadata: ["account": "\(account.name)",
                                                                             "error": "\(error)"])
            }
        }
    }

    /// Takes the pauses recorded in email_accounts (by other nodes, health checks, the bounce-rate
    /// judge, operators) as this node's, unless this node paused the account since the read began.
    func adopt(_ states: [RecordedAccountState], generations: [String: Int]) {
        for state in states {
            guard let account = accounts[state.name], account.pauseWritesPending == 0,
                  generations[state.name] == account.pauseGeneration else { continue }
            switch (account.pause, state.pause) {
            case (nil, nil):
                continue
            case (.some, nil):
                account.pause = nil
                account.consecutiveProblems = 0
                logger.info("account resumed", metadata: ["account": "\(account.name)"])
            case (nil, .some(let recorded)):
                account.pause = recorded
                for session in account.idle { session.quit() }
                logger.warning("account paused", metadata: ["account": "\(account.name)", "pause": "\(recorded)",
                                                            "detail": "recorded in email_accounts"])
            case (.some(let local), .some(let recorded)):
                if AccountStateStore.resumeOn(local) != AccountStateStore.resumeOn(recorded) { account.pause = recorded }
            }
        }
    }

    /// The pause a failed session asks for. A session failure is never the message's (it was
    /// not handed over), so a verdict about a message still pauses the account as unreachable.
    static func problem(of verdict: UpstreamVerdict) -> AccountProblem {
        switch verdict {
        case .accountProblem(let problem): problem
        case .accepted, .retryMessage, .failPermanently, .recipientLimit: .unreachable
        }
    }
}
