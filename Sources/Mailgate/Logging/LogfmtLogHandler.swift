// swift-log backend writing one logfmt line per event to standard error:
// ts, level, component (the logger's label), msg, then metadata sorted by key
// with queue_id first, since an admin greps for it.
import Glibc
import Logging
import MailCore
import Synchronization

public struct LogfmtLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private static let writeLock = Mutex(())

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    /// Makes every Logger in the process use this handler.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { LogfmtLogHandler(label: $0, level: level) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var fields: [(key: String, value: String)] = [
            ("ts", Self.timestamp()), ("level", event.level.rawValue), ("component", label),
        ]
        if let queueID = merged.removeValue(forKey: "queue_id") { fields.append(("queue_id", "\(queueID)")) }
        fields.append(("msg", "\(event.message)"))
        for key in merged.keys.sorted() { fields.append((key, "\(merged[key]!)")) }
        let line = Logfmt.line(fields) + "\n"
        Self.writeLock.withLock { _ in
            var bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = now.tv_nsec / 1_000_000
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millisText)Z"
    }
}
