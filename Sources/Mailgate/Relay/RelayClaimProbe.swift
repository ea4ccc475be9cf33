// Times the relay's claim as the engine runs it: the pass statements, the
// priority scheduler's allocation, and the per-class claims (RelayStore's own
// SQL, not a copy), each round inside a transaction that is rolled back, so the
// queue is left as it was and rounds can repeat. For bench/relay (claim cost
// with 1 thousand and 1 million queued rows); rows stay locked for the
// duration of one round, so relays running meanwhile skip them for that long.
import Postgres
import RelayPolicy

public struct RelayClaimProbeReport: Sendable {
    /// Wall-clock microseconds of each timed round, pass and claim together, sorted ascending.
    public var roundMicroseconds: [Int]
    /// Recipients the last round claimed (then gave back by rolling back).
    public var claimedPerRound: Int

    public var median: Int { roundMicroseconds.isEmpty ? 0 : roundMicroseconds[roundMicroseconds.count / 2] }
    public var p90: Int { roundMicroseconds.isEmpty ? 0 : roundMicroseconds[roundMicroseconds.count * 9 / 10] }
}

public struct RelayClaimProbe {
    let pool: PGPool
    let slots: Int
    let rounds: Int
    let warmupRounds: Int

    public init(pool: PGPool, slots: Int, rounds: Int, warmupRounds: Int = 2) {
        self.pool = pool
        self.slots = max(1, slots)
        self.rounds = max(1, rounds)
        self.warmupRounds = max(0, warmupRounds)
    }

    public func run(completion: @escaping (Result<RelayClaimProbeReport, PGError>) -> Void) {
        var times: [Int] = []
        var claimed = 0
        var remaining = warmupRounds + rounds
        func next() {
            guard remaining > 0 else {
                return completion(.success(RelayClaimProbeReport(roundMicroseconds: times.sorted(),
                                                                 claimedPerRound: claimed)))
            }
            remaining -= 1
            let timed = remaining < rounds
            round { result in
                switch result {
                case .failure(let error):
                    completion(.failure(error))
                case .success(let (microseconds, count)):
                    if timed { times.append(microseconds) }
                    claimed = count
                    next()
                }
            }
        }
        next()
    }

    /// One engine pass and its claims on one connection, rolled back.
    private func round(_ completion: @escaping (Result<(Int, Int), PGError>) -> Void) {
        let slots = self.slots
        pool.withConnection({ connection, done in
            connection.query("BEGIN") { begun in
                if case .failure(let error) = begun { return done(.failure(error)) }
                let clock = ContinuousClock()
                let started = clock.now
                connection.batch(RelayStore.passStatements(slots: slots)) { passed in
                    let pass: RelayStore.PassResults
                    switch passed {
                    case .failure(let error):
                        return connection.query("ROLLBACK") { _ in done(.failure(error)) }
                    case .success(let results):
                        guard let read = RelayStore.PassResults(results) else {
                            return connection.query("ROLLBACK") { _ in
                                done(.failure(PGError(.unsupported, "expected six results")))
                            }
                        }
                        pass = read
                    }
                    var scheduler = PriorityScheduler()
                    let allocation = scheduler.allocate(slots: slots, ready: pass.ready)
                    let claims = RelayStore.claimStatements(allocation, node: "claim-probe", lease: .seconds(60))
                    connection.batch(claims) { claimedResult in
                        let elapsed = clock.now - started
                        let (seconds, attoseconds) = elapsed.components
                        let microseconds = Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000)
                        connection.query("ROLLBACK") { rolledBack in
                            switch (claimedResult, rolledBack) {
                            case (.failure(let error), _), (.success, .failure(let error)):
                                done(.failure(error))
                            case (.success(let results), .success):
                                let count = results.flatMap(RelayStore.claimedMessages).reduce(0) { $0 + $1.recipients.count }
                                done(.success((microseconds, count)))
                            }
                        }
                    }
                }
            }
        }, completion: completion)
    }
}
