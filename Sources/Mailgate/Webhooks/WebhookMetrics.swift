// mailgate_webhook_deliveries_total{outcome}: one count per recorded delivery
// attempt (delivered, retried, failed after retry_for, lease_lost when another
// node took it over, unrecorded when the database did not answer).
import Metrics

enum WebhookOutcome: String, CaseIterable {
    case delivered
    case retried
    case failed
    case leaseLost = "lease_lost"
    case unrecorded
}

enum WebhookMetrics {
    static let name = "mailgate_webhook_deliveries_total"

    private static let counters = Dictionary(uniqueKeysWithValues: WebhookOutcome.allCases.map {
        ($0, Counter(label: name, dimensions: [("outcome", $0.rawValue)]))
    })

    /// Makes every outcome's series exist at zero from the start.
    static func registerFixedSeries() {
        _ = counters.count
    }

    static func record(_ outcome: WebhookOutcome) {
        counters[outcome]?.increment()
    }
}
