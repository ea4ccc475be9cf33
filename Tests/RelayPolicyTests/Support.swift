// Shared test helpers: literal UTC instants and a seeded random generator (SplitMix64), so that
// randomised tests replay the same way on every run.
import RelayPolicy

/// A literal UTC instant; the fields are test constants, so a bad one is a bug in the test.
func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0,
         micro: Int = 0) -> UTCInstant {
    guard let instant = UTCInstant(year: year, month: month, day: day, hour: hour, minute: minute,
                                   second: second, microsecond: micro) else {
        fatalError("not a valid test instant: \(year)-\(month)-\(day) \(hour):\(minute):\(second).\(micro)")
    }
    return instant
}

func date(_ year: Int, _ month: Int, _ day: Int) -> UTCDate {
    guard let date = UTCDate(year: year, month: month, day: day) else { fatalError("not a valid test date") }
    return date
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Duration {
    static func minutes(_ value: Int64) -> Duration { .seconds(value * 60) }
    static func hours(_ value: Int64) -> Duration { .seconds(value * 3600) }
}
