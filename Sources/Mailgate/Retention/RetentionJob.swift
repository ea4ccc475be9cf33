// The purge: runs RetentionSQL's steps in order, each batch after batch until
// one touches fewer rows than the batch size, yielding to the loop between
// batches so sessions and the relay never wait behind it. serve runs it every
// [retention] interval (first a minute after start); `mailgate purge` runs it
// once, or with --dry-run only counts. A failed batch ends that run; the next
// run starts over, so nothing is skipped for good.
import Config
import Logging
import Postgres
import Reactor

public struct PurgeCount: Sendable, Equatable {
    public var step: String
    public var rows: Int
}

public final class RetentionJob {
    private let reactor: Reactor
    private let pool: PGPool
    private var retention: RetentionConfig
    private let logger = Logger(label: "retention")
    private lazy var timer = JobTimer(reactor: reactor) { [weak self] in self?.periodicRun() }
    private var running = false

    public init(reactor: Reactor, pool: PGPool, retention: RetentionConfig) {
        self.reactor = reactor
        self.pool = pool
        self.retention = retention
    }

    // MARK: Periodic (serve)

    func start(firstAfter delay: Duration = .seconds(60)) {
        timer.schedule(after: delay)
    }

    func reload(_ newRetention: RetentionConfig) {
        retention = newRetention
    }

    func stop() {
        timer.stop()
    }

    private func periodicRun() {
        runOnce { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let counts):
                let purged = counts.filter { $0.rows > 0 }
                if !purged.isEmpty {
                    var metadata: Logger.Metadata = [:]
                    for count in purged { metadata[count.step] = "\(count.rows)" }
                    self.logger.info("purged", metadata: metadata)
                }
            case .failure(let error):
                self.logger.error("purge failed", metadata: ["error": "\(error)"])
            }
            self.timer.schedule(after: self.retention.interval)
        }
    }

    // MARK: One run

    /// Purges everything due now; per step, the rows deleted or emptied.
    public func runOnce(completion: @escaping (Result<[PurgeCount], PGError>) -> Void) {
        guard !running else { return completion(.success([])) }
        running = true
        let steps = RetentionSQL.steps(retention)
        let batchSize = retention.batchSize
        var counts = steps.map { PurgeCount(step: $0.name, rows: 0) }
        var index = 0
        func next() {
            guard index < steps.count, !timer.isStopped else {
                running = false
                return completion(.success(counts))
            }
            pool.batch([steps[index].purge]) { [weak self] result in
                guard let self else { return }
                switch result {
                case .failure(let error):
                    self.running = false
                    completion(.failure(error))
                case .success(let results):
                    let affected = results.first?.affectedRows ?? 0
                    counts[index].rows += affected
                    if affected < batchSize { index += 1 }
                    _ = self.reactor.schedule(after: .milliseconds(5)) { next() }
                }
            }
        }
        next()
    }

    /// Counts, per step, the rows a run would touch now.
    public static func dryRun(pool: PGPool, retention: RetentionConfig,
                              completion: @escaping (Result<[PurgeCount], PGError>) -> Void) {
        let steps = RetentionSQL.steps(retention)
        pool.batch(steps.map(\.count)) { result in
            completion(result.map { results in
                zip(steps, results).map { PurgeCount(step: $0.name, rows: $1.first?.int("n") ?? 0) }
            })
        }
    }
}
