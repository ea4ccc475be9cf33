// Gauges whose label sets come and go with what a scrape finds (accounts
// removed from the config, a pause reason that changed, a limit dropped):
// each round sets the series it saw, and `sweep` unregisters the ones it did
// not, so the exposition never shows a stale series. Loop-confined.
import Metrics

final class ScrapeGaugeFamily {
    let name: String
    let labelNames: [String]
    private var gauges: [[String]: Gauge] = [:]
    private var seen: Set<[String]> = []

    init(_ name: String, labels: [String] = []) {
        self.name = name
        self.labelNames = labels
    }

    /// Sets the series with these label values (in `labelNames` order).
    func set(_ value: Double, _ labelValues: String...) {
        set(value, labelValues: labelValues)
    }

    func set(_ value: Double, labelValues: [String]) {
        guard labelValues.count == labelNames.count else { return }
        let gauge: Gauge
        if let existing = gauges[labelValues] {
            gauge = existing
        } else {
            gauge = Gauge(label: name, dimensions: Array(zip(labelNames, labelValues)))
            gauges[labelValues] = gauge
        }
        gauge.record(value)
        seen.insert(labelValues)
    }

    /// Unregisters every series not set since the last sweep.
    func sweep() {
        for (labelValues, gauge) in gauges where !seen.contains(labelValues) {
            gauge.destroy()
            gauges[labelValues] = nil
        }
        seen.removeAll(keepingCapacity: true)
    }
}

/// A counter fed from a running total sampled at scrape time (the pool's error count).
final class SampledCounter {
    private let counter: Counter
    private var last = 0

    init(_ name: String) { counter = Counter(label: name) }

    func sample(total: Int) {
        if total > last { counter.increment(by: total - last) }
        last = total
    }
}
