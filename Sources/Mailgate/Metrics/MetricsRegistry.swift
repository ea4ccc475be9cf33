// The process's one Prometheus registry behind swift-metrics. `bootstrap` runs
// once, first thing in `serve`, so every metric the services make lands here;
// `exposition` renders it in the text format (version 0.0.4) for /metrics.
// swift-metrics allows one bootstrap per process: a second call is ignored.
import Metrics
import Prometheus
import Synchronization

enum MetricsRegistry {
    static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MailgateMetrics.Name.relayDuration] = MailgateMetrics.relayDurationBuckets
        MetricsSystem.bootstrap(factory)
        MailgateMetrics.registerFixedSeries()
    }

    static func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
