// Event webhooks, on every serve node: new outbox rows (webhook_events, filled
// by triggers) are fanned out to the configured webhooks, due deliveries are
// claimed under a lease and POSTed, 2xx marks them delivered, anything else is
// retried with exponential backoff until retry_for has passed (then failed).
// A pass runs on NOTIFY mailgate_webhooks, when a POST ends, and at the next
// due time (at most 30 s apart, as notifications are lost while the listener
// reconnects). Webhooks are the config's: one added by SIGHUP gets events
// fanned out from then on; a removed one gets no new deliveries and its pending
// ones wait untouched until a webhook of that name returns.
import Config
import Glibc
import HTTPProtocol
import Logging
import Postgres
import Reactor

final class WebhookDispatcher: DrainableSession {
    /// POSTs in flight on this node at most, over all webhooks.
    static let maxInFlight = 16
    /// Outbox rows fanned out per statement.
    static let fanOutBatch = 500

    private let reactor: Reactor
    private let pool: PGPool
    private let databaseURL: String
    private let node: String
    private let logger = Logger(label: "webhooks")
    private var targets: [String: WebhookTarget] = [:]
    private var exchanges: [Int: HTTPExchange] = [:]
    private var listener: PGListener?
    private var passRunning = false
    private var passRequested = false
    private var nextPass: TimerID?
    private var draining = false
    private var onDrained: (() -> Void)?

    init(reactor: Reactor, pool: PGPool, databaseURL: String, config: MailgateConfig) {
        self.reactor = reactor
        self.pool = pool
        self.databaseURL = databaseURL
        node = WebhookDispatcher.nodeName()
        apply(config.webhooks)
    }

    func start(registry: SessionRegistry) {
        WebhookMetrics.registerFixedSeries()
        listener = PGListener(reactor: reactor, url: databaseURL) { [weak self] _ in self?.requestPass() }
        listener?.onReconnect = { [weak self] in self?.requestPass() }
        // What was committed before LISTEN took effect notified nobody: look once it is in place.
        listener?.listen(WebhookStore.notifyChannel) { [weak self] _ in self?.requestPass() }
        registry.add(self)
        onDrained = { [unowned self] in registry.remove(self) }
        requestPass()
    }

    func reload(_ config: MailgateConfig) {
        apply(config.webhooks)
        requestPass()
    }

    /// Keeps targets whose config is unchanged; prepares new and changed ones off the loop.
    private func apply(_ webhooks: [WebhookConfig]) {
        var next: [String: WebhookTarget] = [:]
        for webhook in webhooks {
            if let existing = targets[webhook.name], existing.config == webhook {
                next[webhook.name] = existing
                continue
            }
            let target = WebhookTarget(config: webhook)
            next[webhook.name] = target
            prepare(target)
        }
        for name in targets.keys where next[name] == nil {
            logger.info("webhook removed: its pending deliveries wait", metadata: ["webhook": "\(name)"])
        }
        targets = next
    }

    private func prepare(_ target: WebhookTarget) {
        let config = target.config
        reactor.offload({ WebhookTarget.prepare(config) }) { [weak self, weak target] result in
            guard let self, let target, self.targets[target.name] === target else { return }
            switch result {
            case .success(let prepared):
                target.ready(prepared)
                self.requestPass()
            case .failure(let error):
                self.logger.error("webhook not usable; trying again in 30s",
                                  metadata: ["webhook": "\(target.name)", "error": "\(error)"])
                _ = self.reactor.schedule(after: .seconds(30)) { [weak self, weak target] in
                    guard let self, let target, self.targets[target.name] === target else { return }
                    self.prepare(target)
                }
            }
        }
    }

    // MARK: Passes

    func requestPass() {
        guard !draining else { return }
        if passRunning {
            passRequested = true
        } else {
            runPass()
        }
    }

    private func runPass() {
        if let nextPass { reactor.cancel(nextPass) }
        nextPass = nil
        passRunning = true
        let ready = targets.values.filter(\.isReady).map(\.name).sorted()
        let slots = max(0, Self.maxInFlight - exchanges.count)
        let lease = targets.values.map(\.lease).max() ?? .seconds(60)
        let subscriptions = targets.values.map { (name: $0.name, events: $0.config.events) }
        pool.batch([WebhookStore.reclaimExpiredLeases,
                    WebhookStore.fanOut(subscriptions, limit: Self.fanOutBatch),
                    WebhookStore.claim(webhooks: ready, limit: slots, node: node, lease: lease),
                    WebhookStore.secondsUntilNextDue(webhooks: ready),
                    WebhookStore.subscribe(Array(Set(subscriptions.flatMap(\.events))).sorted())]) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                self.logger.error("webhook pass failed", metadata: ["error": "\(error)"])
                self.endPass(nextIn: .seconds(5))
            case .success(let results):
                guard results.count == 5 else { return self.endPass(nextIn: .seconds(5)) }
                let fannedOut = results[1].first?.int(0) ?? 0
                let claimed = WebhookStore.claimed(results[2])
                // Clamped before the conversion: next_attempt_at may be 'infinity' after a manual edit.
                let nextDue = results[3].first?.double(0).map { Duration.milliseconds(Int64(min(max(0, $0), 30) * 1000)) }
                self.start(claimed)
                let more = fannedOut >= Self.fanOutBatch || (slots > 0 && claimed.count >= slots)
                // With every slot busy, the next POST to end asks for the next pass.
                self.endPass(nextIn: more ? .zero : slots == 0 ? nil : nextDue)
            }
        }
    }

    private func endPass(nextIn delay: Duration?) {
        passRunning = false
        if passRequested && !draining {
            passRequested = false
            return runPass()
        }
        guard !draining else { return finishDrainIfIdle() }
        let wait = min(delay ?? .seconds(30), .seconds(30))
        nextPass = reactor.schedule(after: max(wait, .milliseconds(50))) { [weak self] in
            guard let self else { return }
            self.nextPass = nil
            self.requestPass()
        }
    }

    // MARK: Deliveries

    private func start(_ claimed: [ClaimedDelivery]) {
        var untried: [Int] = []
        for delivery in claimed {
            guard !draining, let target = targets[delivery.webhook], target.isReady else {
                untried.append(delivery.id)
                continue
            }
            post(delivery, to: target)
        }
        if !untried.isEmpty {
            let release = WebhookStore.release(untried, node: node)
            pool.query(release.sql, release.params) { _ in }
        }
    }

    private func post(_ delivery: ClaimedDelivery, to target: WebhookTarget) {
        let startedAt = reactor.now
        target.inFlight += 1
        let request = target.request(for: delivery, unixTime: Int(time(nil)))
        exchanges[delivery.id] = HTTPExchange(
            reactor: reactor, url: target.config.url, request: request, tlsContext: target.prepared?.tls,
            timeout: target.config.timeout
        ) { [weak self] result in
            guard let self else { return }
            target.inFlight -= 1
            let elapsed = Duration.nanoseconds(Int64(clamping: self.reactor.now &- startedAt))
            self.record(delivery, of: target, result: result, elapsed: elapsed)
        }
    }

    private func record(_ delivery: ClaimedDelivery, of target: WebhookTarget,
                        result: Result<HTTPClientResponse, HTTPClientError>, elapsed: Duration) {
        let status: Int?
        let problem: String?
        switch result {
        case .success(let response):
            status = response.status
            problem = response.isSuccess ? nil : "HTTP \(response.status)"
        case .failure(let error):
            status = nil
            problem = "\(error)"
        }
        let delay = target.backoff(afterAttempt: delivery.attempt)
        let statement: PGStatement
        if let problem {
            statement = WebhookStore.retry(delivery.id, node: node, delay: delay, retryFor: target.config.retryFor,
                                           status: status, error: problem)
        } else {
            statement = WebhookStore.delivered(delivery.id, status: status ?? 200, node: node)
        }
        pool.query(statement.sql, statement.params) { [weak self] stored in
            guard let self else { return }
            self.exchanges[delivery.id] = nil
            let outcome: WebhookOutcome
            switch stored {
            case .failure(let error):
                // The lease expires and the delivery is tried again: at least once.
                self.logger.error("cannot record a webhook delivery",
                                  metadata: ["webhook": "\(delivery.webhook)", "error": "\(error)"])
                outcome = .unrecorded
            case .success(let rows):
                switch rows.first?.string(0) {
                case "delivered": outcome = .delivered
                case "failed": outcome = .failed
                case "pending": outcome = .retried
                default: outcome = .leaseLost
                }
            }
            self.log(delivery, outcome: outcome, status: status, problem: problem, elapsed: elapsed,
                     retryIn: outcome == .retried ? delay : nil)
            WebhookMetrics.record(outcome)
            if self.draining { self.finishDrainIfIdle() } else { self.requestPass() }
        }
    }

    private func log(_ delivery: ClaimedDelivery, outcome: WebhookOutcome, status: Int?, problem: String?,
                     elapsed: Duration, retryIn: Duration?) {
        var metadata: Logger.Metadata = [
            "webhook": "\(delivery.webhook)", "event_id": "\(delivery.eventID)", "type": "\(delivery.type)",
            "attempt": "\(delivery.attempt)", "outcome": "\(outcome.rawValue)",
            "duration_ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
        ]
        if let status { metadata["status"] = "\(status)" }
        if let problem { metadata["error"] = "\(problem)" }
        if let retryIn { metadata["retry_in"] = "\(DurationText.render(retryIn))" }
        switch outcome {
        case .delivered, .retried: logger.info("webhook delivery", metadata: metadata)
        case .failed, .leaseLost, .unrecorded: logger.warning("webhook delivery", metadata: metadata)
        }
    }

    // MARK: Draining

    func drain() {
        guard !draining else { return }
        draining = true
        if let nextPass { reactor.cancel(nextPass) }
        nextPass = nil
        listener?.close()
        finishDrainIfIdle()
    }

    func abort() {
        draining = true
        listener?.close()
        for exchange in exchanges.values { exchange.cancel() }
        exchanges = [:]
        finishDrainIfIdle()
    }

    /// Done once no pass and no POST (or its recording) is in flight; leases of cancelled ones expire.
    private func finishDrainIfIdle() {
        guard draining, !passRunning, exchanges.isEmpty, let onDrained else { return }
        self.onDrained = nil
        onDrained()
    }

    private static func nodeName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
    }
}
