// A transcript driver for IMAPSyncSession: events (start, server bytes, timer,
// close, logout) and the actions each must produce, rendered as short text
// lines. Server bytes are fed whole and one byte at a time; both must agree.
@testable import IMAPProtocol

enum SyncEvent {
    case start
    case server(String)
    case timer
    case closed
    case logout
}

struct SyncStep {
    var event: SyncEvent
    var expected: [String]
    init(_ event: SyncEvent, _ expected: [String] = []) {
        self.event = event
        self.expected = expected
    }
}

func render(_ action: IMAPSyncAction) -> String {
    switch action {
    case .send(let bytes): return "C: " + String(decoding: bytes, as: UTF8.self)
    case .resetFolder(let folder, let validity): return "reset \(folder) \(validity)"
    case .deliver(let folder, let uid, let message): return "deliver \(folder) \(uid) " + String(decoding: message, as: UTF8.self)
    case .skipTooLarge(let folder, let uid, let size): return "too large \(folder) \(uid) \(size)"
    case .batchFetched(let folder, let count, let lastUID): return "batch \(folder) \(count) \(lastUID)"
    case .folderUnavailable(let folder, let reason): return "unavailable \(folder) \(reason)"
    case .idling: return "idling"
    case .waitForPoll: return "wait"
    case .failed(.unavailable(let reason)): return "failed unavailable: \(reason)"
    case .failed(.protocolError(let reason)): return "failed protocol: \(reason)"
    }
}

/// Runs `steps`, feeding server bytes in chunks of `chunkSize` (nil: whole); returns each step's actions.
func runSync(_ configuration: IMAPSyncConfiguration, _ steps: [SyncStep], chunkSize: Int?) -> [[String]] {
    var session = IMAPSyncSession(configuration: configuration)
    return steps.map { step in
        switch step.event {
        case .start:
            return session.start().map(render)
        case .server(let text):
            let input = Array(text.utf8)
            let size = max(1, chunkSize ?? input.count)
            var actions: [IMAPSyncAction] = []
            var start = 0
            while start < input.count {
                let end = min(input.count, start + size)
                actions += session.receive(input[start..<end])
                start = end
            }
            return actions.map(render)
        case .timer:
            return session.timerFired().map(render)
        case .closed:
            return session.connectionClosed().map(render)
        case .logout:
            return session.logout().map(render)
        }
    }
}
