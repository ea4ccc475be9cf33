// `mailgate queue claim-probe` (hidden): times the relay's claim exactly as a
// relay pass runs it (Mailgate/Relay/RelayClaimProbe), each round rolled back,
// and prints one line: `claim_probe slots=N rounds=N claimed=N median_us=N
// p90_us=N min_us=N`. For bench/relay; harmless on a live queue except that
// the rows one round locks are skipped by the relays for that long.
import ArgumentParser
import Mailgate

struct ClaimProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claim-probe", abstract: "Time the relay's claim (rolled back); for benchmarks.",
        shouldDisplay: false)

    @OptionGroup var options: DatabaseOptions
    @Option(help: "Free relay slots per pass (the engine's sum of max_connections minus messages in flight).")
    var slots = 20
    @Option(help: "Timed rounds (after two untimed ones).") var rounds = 30

    func run() throws {
        let command = DatabaseCommand(name: "queue claim-probe", options: options)
        guard (1...10_000).contains(slots), (1...100_000).contains(rounds) else {
            command.fail("--slots must be 1...10000 and --rounds 1...100000")
            throw ExitCode(2)
        }
        let url = try command.databaseURL()
        let (slots, rounds) = (slots, rounds)
        let report: RelayClaimProbeReport = try command.runOrExit(url: url) { pool, done in
            RelayClaimProbe(pool: pool, slots: slots, rounds: rounds).run(completion: done)
        }
        print("claim_probe slots=\(slots) rounds=\(rounds) claimed=\(report.claimedPerRound) "
              + "median_us=\(report.median) p90_us=\(report.p90) min_us=\(report.roundMicroseconds.first ?? 0)")
    }
}
