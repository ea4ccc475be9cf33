// Where a connection string points, read with libpq's own parser, so that a
// host name is resolved off the loop (libpq would call getaddrinfo inside
// PQconnectPoll and block it). Numeric hosts, socket directories, an explicit
// hostaddr and multi-host strings are left to libpq as they are (a multi-host
// string with names still resolves inside libpq: a known limit). It also
// carries the URL's own `options`, which mailgate's server settings go ahead of.
internal import CLibPQ
import Glibc
import Reactor

struct ConnectTarget {
    /// A host name to resolve before connecting, with its port; nil when libpq needs no DNS.
    let hostToResolve: (host: String, port: UInt16)?
    /// The server settings for every session: mailgate's, then the URL's `options` (or PGOPTIONS), which win
    /// (PostgreSQL applies `-c` settings in order). JIT is off: mailgate's statements are short,
    /// and JIT compiles a plan afresh at every execution of a statement the planner thinks
    /// costly (a relay claim over a large queue), which took a fifth of PostgreSQL's CPU in the
    /// backlog drain of bench/submit.
    let options: String

    static let sessionSettings = "-c jit=off"

    static func parse(_ url: String) -> Result<ConnectTarget, PGError> {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(url, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "cannot parse the connection string"
            if let errorMessage { PQfreemem(errorMessage) }
            return .failure(PGError(.connectFailed, "bad database URL: \(PGText.oneLine(message))"))
        }
        defer { PQconninfoFree(parsed) }
        var values: [String: String] = [:]
        var cursor = parsed
        while let keyword = cursor.pointee.keyword {
            if let value = cursor.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            cursor += 1
        }
        // libpq reads PGOPTIONS only when no options are given, and mailgate always gives some.
        let own = values["options"] ?? getenv("PGOPTIONS").map { String(cString: $0) }
        let options = [sessionSettings, own ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
        guard let host = values["host"], !host.isEmpty, (values["hostaddr"] ?? "").isEmpty,
              !host.contains(","), !host.hasPrefix("/"), !host.hasPrefix("@"),
              SocketAddress(host: host, port: 0) == nil
        else { return .success(ConnectTarget(hostToResolve: nil, options: options)) }
        let port = values["port"].flatMap { UInt16($0) } ?? 5432
        return .success(ConnectTarget(hostToResolve: (host, port), options: options))
    }
}

/// Text helpers shared by the module's files.
enum PGText {
    /// libpq messages end with newlines and indent continuation lines with tabs;
    /// a log line wants one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\t" || $0 == "\r" })
            .map { $0.trimmingSpaces() }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    static func message(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { oneLine(String(cString: $0)) } ?? ""
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var slice = self[...]
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Calls `body` with NULL-terminated arrays of C strings for libpq's *Params functions.
func withConnectParams<Result>(
    _ pairs: [(String, String)], _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> Result
) -> Result {
    let keywords = pairs.map { strdup($0.0) } + [nil]
    let values = pairs.map { strdup($0.1) } + [nil]
    defer {
        keywords.forEach { free($0) }
        values.forEach { free($0) }
    }
    let constKeywords = keywords.map { UnsafePointer($0) }
    let constValues = values.map { UnsafePointer($0) }
    return constKeywords.withUnsafeBufferPointer { keywordBuffer in
        constValues.withUnsafeBufferPointer { valueBuffer in
            body(keywordBuffer.baseAddress!, valueBuffer.baseAddress!)
        }
    }
}
