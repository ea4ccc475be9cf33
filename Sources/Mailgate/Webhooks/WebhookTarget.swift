// One configured webhook as the dispatcher sees it: its config, its signing
// key (the secret file's first line) and its TLS client context, both prepared
// off the loop when the webhook appears or changes (a rotated key takes effect
// at SIGHUP), plus the signature and backoff rules for its deliveries.
import Config
import Foundation
import HTTPProtocol
import TLS
import Threading

final class WebhookTarget {
    struct Prepared: Sendable {
        var key: [UInt8]?
        var tls: TLSClientContext?
    }

    let config: WebhookConfig
    private(set) var prepared: Prepared?
    /// Deliveries of this webhook being posted now.
    var inFlight = 0

    init(config: WebhookConfig) {
        self.config = config
    }

    var name: String { config.name }
    var isReady: Bool { prepared != nil }

    func ready(_ prepared: Prepared) {
        self.prepared = prepared
    }

    /// Reads the key and builds the TLS context. Reads files: call it off the loop.
    static func prepare(_ config: WebhookConfig) -> Result<Prepared, WebhookSetupError> {
        var key: [UInt8]?
        if let path = config.secretFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                return .failure(.unreadableSecret(path))
            }
            var line = Array((text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").utf8)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            guard !line.isEmpty else { return .failure(.unreadableSecret(path)) }
            key = line
        }
        var tls: TLSClientContext?
        if config.url.isHTTPS {
            do {
                tls = try TLSClientContext(caFile: config.caFile)
            } catch {
                return .failure(.tls("\(error)"))
            }
        }
        return .success(Prepared(key: key, tls: tls))
    }

    /// The request for one attempt: JSON body, event id and type, and the signature when keyed:
    /// `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`.
    func request(for delivery: ClaimedDelivery, unixTime: Int) -> HTTPClientRequest {
        let body = Array(delivery.body.utf8)
        var headers = [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("User-Agent", "mailgate-webhooks"),
            HTTPHeader("X-Mailgate-Event-Id", delivery.eventID),
            HTTPHeader("X-Mailgate-Event-Type", delivery.type),
            HTTPHeader("X-Mailgate-Delivery-Attempt", String(delivery.attempt)),
        ]
        if let key = prepared?.key {
            let signature = HMACSHA256.hex(for: Array("\(unixTime).".utf8) + body, key: key)
            headers.append(HTTPHeader("X-Mailgate-Signature", "t=\(unixTime),v1=\(signature)"))
        }
        return HTTPClientRequest(method: "POST", target: config.url.requestTarget, host: config.url.hostHeader,
                                 headers: headers, body: body)
    }

    /// Delay before the attempt after `attempt` failed ones: retry_min doubling up to retry_max,
    /// plus up to a tenth more so nodes and webhooks do not retry in lockstep.
    func backoff(afterAttempt attempt: Int) -> Duration {
        let doublings = min(max(attempt - 1, 0), 30)
        let base = WebhookStore.seconds(config.retryMin) * Double(1 << doublings)
        // Also held below ~115 days, so that no configured duration overflows the conversion below.
        let capped = min(base, WebhookStore.seconds(config.retryMax), 10_000_000)
        let jittered = capped * (1 + Double.random(in: 0...0.1))
        return .milliseconds(Int64(jittered * 1000))
    }

    /// The claim's lease: longer than the connect plus the response timeout, so an answer never
    /// arrives after the lease on a live node.
    var lease: Duration { config.timeout * 2 + .seconds(30) }
}

enum WebhookSetupError: Error, Sendable, CustomStringConvertible {
    case unreadableSecret(String)
    case tls(String)

    var description: String {
        switch self {
        case .unreadableSecret(let path): "cannot read the secret file \(path)"
        case .tls(let why): "TLS client setup failed: \(why)"
        }
    }
}
