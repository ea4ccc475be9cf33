// The relay: claims ready recipients from PostgreSQL, picks an account for each
// message within its limits, sends through upstream SMTP sessions and records
// every recipient's outcome. A pass runs when committed mail is announced
// (LISTEN mailgate_queue), when a session frees up, and at the next due time.
// Per pass: expired leases go back to the queue; the priority scheduler splits
// the free slots among classes from bounded readiness counts (so the cost stays
// flat however long the queue); each class's share is claimed with FOR UPDATE
// SKIP LOCKED under a lease. Rate counters are reserved in the database before
// a message goes out, so nodes sharing it respect every window together; an
// account with no room makes the message wait, at no attempt's cost, until the
// window that binds opens (when no account at all may send, ready mail is parked
// in bulk until the first reopens). Failures of the account (login, provider rate or
// quota, unreachable) pause it and send the message back at once for another.
// Bulk mail without its own List-Unsubscribe leaves one recipient per
// transaction, each with its own signed unsubscribe links (UnsubscribeLinks).
import Config
import Glibc
import Logging
import MailCore
import Postgres
import Reactor
import RelayPolicy
import SMTPProtocol
import TLS

final class RelayEngine: DrainableSession {
    /// One message (or part of its recipients) on its way upstream.
    final class Job {
        let message: RelayMessage
        let recipients: [ClaimedRecipient]
        var account: String?
        var sent = false
        /// Monotonic time of the claim, for the relay duration metric.
        var claimedAt: UInt64 = 0

        init(message: RelayMessage, recipients: [ClaimedRecipient]) {
            self.message = message
            self.recipients = recipients
        }
    }

    let reactor: Reactor
    let pool: PGPool
    let databaseURL: String
    let logger = Logger(label: "relay")
    let node: String
    var config: MailgateConfig
    var accounts: [String: RelayAccount] = [:]
    var listener: PGListener?
    var scheduler = PriorityScheduler()
    var counters: [String: RateCounters] = [:]
    var health = HealthPolicy()
    var passRunning = false
    var passRequested = false
    var nextPass: TimerID?
    /// When `nextPass` fires, in the reactor's clock.
    var nextPassDue: UInt64 = 0
    var lastPassStarted: UInt64 = 0
    /// Passes start at most this often. Each committed submission and each finished job asks
    /// for one; spacing them lets one pass claim what several asked for, instead of a pass (and
    /// its round trips) per message competing with the submissions for the two cores.
    static let passSpacing: Duration = .milliseconds(20)
    /// Claimed jobs not yet handed back: what a pass may not claim again (`capacity` bounds it).
    var jobsInFlight = 0
    /// Outcome batches not yet committed: a drain waits for them before releasing leases.
    var recordsInFlight = 0
    var jobs: [ObjectIdentifier: Job] = [:]
    var draining = false
    var onDrained: (() -> Void)?
    /// Signs the List-Unsubscribe links of bulk mail; nil: no links are added.
    var unsubscribeLinks: UnsubscribeLinks?
    /// Access tokens for accounts with an oauth2 table.
    var oauth2: OAuth2TokenService?

    init(reactor: Reactor, pool: PGPool, databaseURL: String, config: MailgateConfig) {
        self.reactor = reactor
        self.pool = pool
        self.databaseURL = databaseURL
        self.config = config
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        node = "\(host):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
        for account in config.accounts { accounts[account.name] = RelayAccount(config: account) }
    }

    var retrySchedule: RetrySchedule { RetrySchedule(delays: config.relay.retryAfter) }

    /// Most messages in flight at once on this node: one per upstream connection allowed.
    var capacity: Int { max(1, accounts.values.reduce(0) { $0 + $1.config.maxConnections }) }

    func start(registry: SessionRegistry, onDrained: @escaping () -> Void = {}) {
        mirrorAccounts()
        listener = PGListener(reactor: reactor, url: databaseURL) { [weak self] _ in self?.requestPass() }
        listener?.onReconnect = { [weak self] in self?.requestPass() }
        // What was committed before LISTEN took effect notified nobody: look once it is in place.
        listener?.listen(QueueWriter.notifyChannel) { [weak self] _ in self?.requestPass() }
        registry.add(self)
        self.onDrained = { registry.remove(self) }
        requestPass()
    }

    func reload(_ newConfig: MailgateConfig) {
        config = newConfig
        let names = Set(newConfig.accounts.map(\.name))
        for (name, account) in accounts where !names.contains(name) {
            for session in account.idle { session.quit() }
            accounts[name] = nil
        }
        for account in newConfig.accounts {
            if let existing = accounts[account.name] { existing.update(account) } else {
                accounts[account.name] = RelayAccount(config: account)
            }
        }
        mirrorAccounts()
        // New accounts or limits may let mail go that was parked while none could send.
        pool.batch([RelayStore.unparkAll]) { [weak self] _ in self?.requestPass() }
    }

    func mirrorAccounts() {
        let statements = config.accounts.map { account in
            RelayStore.mirrorAccount(account.name, address: account.address,
                                     warmupStarted: account.warmup.map { "\($0.started)" })
        }
        guard !statements.isEmpty else { return }
        pool.batch(statements) { [logger] result in
            if case .failure(let error) = result {
                logger.error("cannot record accounts", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Passes

    func requestPass() {
        guard !draining else { return }
        if passRunning {
            passRequested = true
            return
        }
        let earliest = lastPassStarted &+ Self.nanoseconds(Self.passSpacing)
        let now = reactor.now
        if now >= earliest { return runPass() }
        schedulePass(after: .nanoseconds(Int64(earliest - now)))
    }

    /// Arms the pass timer unless it already fires sooner.
    func schedulePass(after delay: Duration) {
        let due = reactor.now &+ Self.nanoseconds(delay)
        if nextPass != nil, nextPassDue <= due { return }
        if let nextPass { reactor.cancel(nextPass) }
        nextPassDue = due
        nextPass = reactor.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.nextPass = nil
            self.requestPass()
        }
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    func runPass() {
        if let nextPass { reactor.cancel(nextPass) }
        nextPass = nil
        passRunning = true
        lastPassStarted = reactor.now
        let slots = capacity - jobsInFlight
        let generations = accounts.mapValues(\.pauseGeneration)
        pool.batch(RelayStore.passStatements(slots: slots)) { [weak self] result in
            guard let self else { return }
            switch result.flatMap({ results in
                RelayStore.PassResults(results).map { .success($0) }
                    ?? .failure(PGError(.unsupported, "expected six results"))
            }) {
            case .failure(let error):
                self.logger.error("relay pass failed", metadata: ["error": "\(error)"])
                self.endPass(nextIn: .seconds(5))
            case .success(let pass):
                self.counters = pass.counters
                let now = UTCInstant.now
                self.adopt(pass.accountStates.compactMap { RecordedAccountState.read($0, now: now) }, generations: generations)
                guard slots > 0 else { return self.endPass(nextIn: pass.nextDue) }
                if !pass.ready.isEmpty,
                   case .wait(let reason) = AccountSelector.choose(among: self.everyAccount(at: now), at: now) {
                    return self.parkReady(reason, now: now, nextDue: pass.nextDue)
                }
                let allocation = self.scheduler.allocate(slots: slots, ready: pass.ready)
                self.claim(allocation, nextDue: pass.nextDue)
            }
        }
    }

    /// Every account as a candidate for any message: if none of them may send now, no message can.
    func everyAccount(at now: UTCInstant) -> [AccountCandidate] {
        accounts.map { name, account in
            AccountCandidate(name: name, weight: account.config.weight,
                             status: account.policy.status(counters: counters[name] ?? RateCounters(),
                                                           inFlight: account.connectionsInUse, at: now),
                             pause: account.pause)
        }
    }

    /// No account may send now: rather than claiming each ready message only to park it (three
    /// round trips and two commits per message, competing with submissions), park what is ready in
    /// bulk until the first account reopens, when each is claimed and judged on its own accounts.
    /// Busy connections need no parking: a finishing job asks for the next pass.
    func parkReady(_ reason: WaitReason, now: UTCInstant, nextDue: Duration?) {
        guard reason.opening != .whenConnectionFrees else { return endPass(nextIn: nextDue) }
        let delay = reason.opening.delay(from: now)
        let limit = 1000
        let park = RelayStore.parkReady(after: delay, reason: "\(RelayStore.noAccountMaySendReason); first to reopen: \(reason)",
                                        limit: limit)
        // Forgotten in a crash, a park only means the messages are looked at again.
        pool.batch([.relaxedCommit, park]) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                self.logger.error("cannot park ready messages", metadata: ["error": "\(error)"])
                self.endPass(nextIn: .seconds(5))
            case .success(let results):
                let parked = results.last?.first?.int(0) ?? 0
                if parked > 0 {
                    self.logger.info("parked", metadata: ["recipients": "\(parked)", "reason": "\(reason)",
                                                          "retry_in": "\(Int(RelayStore.seconds(delay)))s"])
                }
                self.endPass(nextIn: parked >= limit ? .zero : delay)
            }
        }
    }

    func claim(_ allocation: PriorityAllocation, nextDue: Duration?) {
        let claims = RelayStore.claimStatements(allocation, node: node, lease: config.relay.lease)
        guard !claims.isEmpty else { return endPass(nextIn: nextDue) }
        // A lease forgotten in a crash only lets the message be claimed again: not worth an fsync
        // that the submissions waiting for their 250 would queue behind.
        pool.batch([.relaxedCommit, .customPlans] + claims) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                self.logger.error("claim failed", metadata: ["error": "\(error)"])
                self.endPass(nextIn: .seconds(5))
            case .success(let results):
                // Claimed while draining: left for releaseLeases, which hands them back at once.
                guard !self.draining else { return self.endPass(nextIn: nil) }
                let claimed = results.dropFirst(2).flatMap(RelayStore.claimedMessages)
                let claimedAt = self.reactor.now
                for message in claimed { self.start(message, claimedAt: claimedAt) }
                // Whatever was claimed, look again soon: more may be ready than one pass took.
                self.endPass(nextIn: claimed.isEmpty ? nextDue : .zero)
            }
        }
    }

    func endPass(nextIn delay: Duration?) {
        passRunning = false
        guard !draining else { return }
        if passRequested {
            passRequested = false
            return requestPass()
        }
        // A safety net: notifications may be lost while the listener reconnects.
        let wait = min(delay ?? .seconds(30), .seconds(30))
        schedulePass(after: max(wait, .milliseconds(50)))
    }

    // MARK: Jobs

    func start(_ claimed: ClaimedMessage, claimedAt: UInt64) {
        guard let message = claimed.message else {
            // The lease expires and another pass takes the recipients again.
            return logger.error("cannot read claimed message", metadata: ["queue_id": "\(claimed.queueID)"])
        }
        let recipients = claimed.recipients
        // Per-recipient links need a transaction per recipient.
        let parts = recipients.count > 1 && needsUnsubscribeLinks(message) ? recipients.map { [$0] } : [recipients]
        jobsInFlight += parts.count
        for part in parts {
            let job = Job(message: message, recipients: part)
            job.claimedAt = claimedAt
            route(job)
        }
    }

    func route(_ job: Job) {
        var updates: [(ClaimedRecipient, RecipientUpdate)] = job.recipients.filter(\.suppressed).map { ($0, .suppressed) }
        let live = job.recipients.filter { !$0.suppressed }
        guard !live.isEmpty else { return record(updates, for: job) }
        let liveJob = Job(message: job.message, recipients: live)
        liveJob.claimedAt = job.claimedAt
        let now = UTCInstant.now
        switch AccountSelector.choose(among: candidates(for: job.message, at: now), at: now) {
        case .send(let account):
            if !updates.isEmpty { record(updates, for: job, finishing: false) }
            reserve(liveJob, on: account, at: now)
        case .wait(let reason):
            let delay = reason.opening.delay(from: now)
            let lasting = reason.opening != .whenConnectionFrees
            updates += live.map {
                ($0, .retry(after: delay, reason: "\(reason)", costsAttempt: false, account: nil, recordEvent: lasting))
            }
            record(updates, for: job)
        case .noEligibleAccount:
            let reason = "no active account may send as \(job.message.sender) for user \(job.message.user)"
            updates += live.map { self.temporaryFailure($0, reason: reason, hint: nil, account: nil) }
            record(updates, for: job)
        }
    }

    func candidates(for message: RelayMessage, at now: UTCInstant) -> [AccountCandidate] {
        guard let user = config.user(named: message.user) else { return [] }
        return user.accounts.compactMap { name in
            // A notice from the null sender may leave through any of the user's accounts.
            guard let account = accounts[name],
                  message.sender.isEmpty || account.config.maySendAs(Self.mailbox(message.sender)) else { return nil }
            let status = account.policy.status(counters: counters[name] ?? RateCounters(),
                                               inFlight: account.connectionsInUse, at: now)
            return AccountCandidate(name: name, weight: account.config.weight, status: status, pause: account.pause)
        }
    }

    /// Takes the message's recipients out of every window of `account` in one transaction, then sends.
    func reserve(_ job: Job, on name: String, at now: UTCInstant) {
        guard let account = accounts[name] else { return record(retryAll(job, reason: "account removed"), for: job) }
        let count = job.recipients.count
        let statements = RateWindowKind.allCases.compactMap { kind -> PGStatement? in
            guard let ceiling = account.policy.ceiling(kind, at: now) else { return nil }
            return RelayStore.reserve(account: name, window: kind.key(containing: now), count: count, ceiling: ceiling)
        }
        guard !statements.isEmpty else { return deliver(job, on: account) }
        account.opening += 1
        // A reservation forgotten in a server crash only lets a window count a few sends short;
        // waiting for its fsync would hold the message back for nothing.
        pool.withTransaction({ connection, done in
            connection.batch([.relaxedCommit] + statements) { result in
                done(result.flatMap { results in
                    results.dropFirst().allSatisfy { $0.count == 1 }
                        ? .success(()) : .failure(PGError(.aborted, "window full"))
                })
            }
        }, completion: { [weak self] (result: Result<Void, PGError>) in
            guard let self else { return }
            account.opening -= 1
            switch result {
            case .success:
                self.counters[name, default: RateCounters()].record(count, at: now)
                self.deliver(job, on: account)
            case .failure(let error):
                // Another node took the room first (or the database failed): try again shortly.
                let reason = error.kind == .aborted ? "account \(name) rate window full" : "\(error)"
                self.record(self.retryAll(job, reason: reason, after: .seconds(1)), for: job)
            }
        })
    }

    func deliver(_ job: Job, on account: RelayAccount) {
        job.account = account.name
        if let session = account.idle.popLast() {
            account.busy[ObjectIdentifier(session)] = session
            jobs[ObjectIdentifier(session)] = job
            return send(job, on: session)
        }
        var timeouts = SMTPClientTimeouts()
        timeouts.connect = config.relay.connectTimeout
        timeouts.command = config.relay.commandTimeout
        let accountConfig = account.config
        let heloName = config.server.hostname
        let sessionTimeouts = timeouts
        account.opening += 1
        guard let oauth2, case .oauth2Refresh = accountConfig.credential else {
            return setUp(accountConfig, heloName: heloName, timeouts: sessionTimeouts, token: nil, on: account, for: job)
        }
        oauth2.tokenIfNeeded(for: accountConfig) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let token):
                self.setUp(accountConfig, heloName: heloName, timeouts: sessionTimeouts, token: token, on: account,
                           for: job)
            case .failure(let error):
                account.opening -= 1
                // The endpoint refused or is unreachable: the account cannot log in for now.
                self.logger.error("no OAuth2 access token", metadata: ["account": "\(account.name)", "error": "\(error)"])
                self.pause(account, problem: .authFailed, detail: "OAuth2: \(error)")
                self.record(self.retryAll(job, reason: "account \(account.name): OAuth2: \(error)"), for: job)
            }
        }
    }

    /// Reads the session's files off the loop (`account.opening` already counts it), then opens it.
    func setUp(_ accountConfig: AccountConfig, heloName: String, timeouts: SMTPClientTimeouts, token: String?,
                       on account: RelayAccount, for job: Job) {
        reactor.offload({
            RelayAccount.sessionSetup(for: accountConfig, heloName: heloName, timeouts: timeouts, oauth2Token: token)
        }, then: { [weak self] setup in
            account.opening -= 1
            self?.open(setup, on: account, for: job, token: token)
        })
    }

    func open(_ setup: Result<(SMTPClientConfiguration, TLSClientContext), RelayAccountError>,
                      on account: RelayAccount, for job: Job, token: String?) {
        switch setup {
        case .failure(let error):
            logger.error("cannot start upstream session", metadata: ["account": "\(account.name)", "error": "\(error)"])
            pause(account, problem: .authFailed, detail: "\(error)")
            record(retryAll(job, reason: "account \(account.name): \(error)"), for: job)
        case .success(let (configuration, tls)):
            let session = UpstreamSession(account: account.name, endpoint: account.config.smtp,
                                          configuration: configuration, tlsContext: tls, reactor: reactor,
                                          logger: logger)
            session.oauth2Token = token
            let id = ObjectIdentifier(session)
            account.busy[id] = session
            jobs[id] = job
            session.onEvent = { [weak self, unowned session] event in self?.handle(event, from: session) }
            session.start()
        }
    }

    func send(_ job: Job, on session: UpstreamSession) {
        let message = job.message
        let recipients = job.recipients.map { claimed in
            SMTPRecipient(address: Self.mailbox(claimed.recipient), notify: Self.notify(claimed.notify),
                          originalRecipientType: claimed.orcpt.map { String($0.prefix { $0 != ";" }) },
                          originalRecipientAddress: claimed.orcpt.flatMap { text in
                              text.firstIndex(of: ";").map { String(text[text.index(after: $0)...]) } })
        }
        job.sent = true
        session.send(SMTPClientMessage(sender: message.sender.isEmpty ? nil : Self.mailbox(message.sender),
                                       recipients: recipients,
                                       content: content(of: job), requiresSMTPUTF8: message.smtpUTF8,
                                       dsnReturn: message.dsnReturn.flatMap(DSNReturn.init(rawValue:)),
                                       envelopeID: message.envelopeID))
    }

    func needsUnsubscribeLinks(_ message: RelayMessage) -> Bool {
        unsubscribeLinks?.key != nil && message.priority == .bulk && !message.sender.isEmpty
            && !ListUnsubscribeHeaders.present(in: message.message)
    }

    /// The bytes that go upstream: the queued message, plus List-Unsubscribe for bulk mail to one recipient.
    func content(of job: Job) -> [UInt8] {
        let message = job.message
        guard job.recipients.count == 1, let recipient = job.recipients.first, needsUnsubscribeLinks(message),
              let links = unsubscribeLinks?.links(sender: message.sender, recipient: recipient.recipient,
                                                  account: job.account),
              let withLinks = ListUnsubscribeHeaders.adding(to: message.message, mailto: links.mailto, https: links.https)
        else { return message.message }
        return withLinks
    }

    func handle(_ event: UpstreamSession.Event, from session: UpstreamSession) {
        let id = ObjectIdentifier(session)
        guard let account = accounts[session.account] else { return session.abort() }
        switch event {
        case .ready:
            if let job = jobs[id], !job.sent {
                send(job, on: session)
            } else if draining {
                session.quit()
            } else {
                account.busy[id] = nil
                account.idle.append(session)
                requestPass()
            }
        case .result(let result):
            guard let job = jobs.removeValue(forKey: id) else { return }
            MailgateMetrics.relayFinished(afterNanoseconds: reactor.now &- job.claimedAt)
            account.consecutiveProblems = 0
            record(outcomes(result, job: job, account: account), for: job)
        case .failed(let failure):
            guard let job = jobs.removeValue(forKey: id) else { return }
            // The session died before this message was handed over: the account's or the
            // connection's problem, never the message's.
            let problem = Self.problem(of: failure.classification)
            // A refused OAuth2 token: one refresh and an immediate retry before it counts as a login failure.
            if problem == .authFailed, let token = session.oauth2Token,
               oauth2?.rejected(account: account.name, token: token) == true {
                return record(retryAll(job, reason: "account \(account.name): OAuth2 token refused, refreshing"),
                              for: job)
            }
            pause(account, problem: problem, detail: failure.detail)
            record(retryAll(job, reason: "account \(account.name): \(failure.detail)"), for: job)
        case .closed:
            account.busy[id] = nil
            account.idle.removeAll { $0 === session }
            if let job = jobs.removeValue(forKey: id) {
                record(retryAll(job, reason: "upstream session to \(account.name) closed"), for: job)
            }
        }
    }

    // MARK: Drain

    func drain() {
        draining = true
        if let nextPass { reactor.cancel(nextPass) }
        nextPass = nil
        listener?.close()
        for account in accounts.values {
            for session in account.idle { session.quit() }
        }
        if jobsInFlight == 0, recordsInFlight == 0 { finishDrain() }
    }

    func abort() {
        for account in accounts.values { for session in account.idle { session.abort() } }
        finishDrain()
    }

    /// Hands back every recipient this node still holds (a claim that raced the drain, a job cut
    /// off at the drain deadline), so another node takes them at once instead of after the lease.
    func releaseLeases(then done: @escaping () -> Void) {
        pool.batch([RelayStore.releaseLeases(node: node)]) { [logger] result in
            switch result {
            case .success(let results):
                logger.info("leases released", metadata: ["recipients": "\(results.first?.affectedRows ?? 0)"])
            case .failure(let error):
                logger.error("cannot release leases: they expire by themselves", metadata: ["error": "\(error)"])
            }
            done()
        }
    }

    func finishDrain() {
        onDrained?()
        onDrained = nil
    }

    // MARK: Values

    static func mailbox(_ text: String) -> MailboxAddress {
        guard let at = text.lastIndex(of: "@") else { return MailboxAddress(localPart: text, domain: "") }
        return MailboxAddress(localPart: String(text[..<at]), domain: String(text[text.index(after: at)...]))
    }

    /// A reply on one line, as stored and logged: "550 5.1.1 <x@y>: User unknown".
    static func text(_ reply: SMTPReply) -> String {
        ([String(reply.code)] + (reply.enhanced.map { [$0] } ?? []) + [reply.lines.joined(separator: " ")])
            .joined(separator: " ")
    }

    static func notify(_ text: String?) -> DSNNotify? {
        guard let text else { return nil }
        if text == "NEVER" { return .never }
        let conditions = text.split(separator: ",").compactMap { DSNNotifyCondition(rawValue: String($0)) }
        return conditions.isEmpty ? nil : .on(Set(conditions))
    }
}

extension UTCInstant {
    static var now: UTCInstant {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UTCInstant(microsecondsSinceEpoch: Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec / 1000))
    }
}

extension RateOpening {
    /// How long from `now` until this opening; a connection freeing up is expected soon.
    func delay(from now: UTCInstant) -> Duration {
        switch self {
        case .whenConnectionFrees: return .seconds(1)
        case .at(let instant): return instant > now ? instant.duration(since: now) : .zero
        case .never: return .seconds(3600)
        }
    }
}
