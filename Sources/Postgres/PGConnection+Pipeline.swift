// The session's work queue. Each unit (a batch of statements, or a script)
// waits in `waiting`, is sent whole, and then waits in `inFlight` for its
// results, which libpq returns in order: in pipeline mode one result per
// statement (each followed by NULL), then PGRES_PIPELINE_SYNC closing the
// unit. Later units go out without waiting for earlier ones' round trips.
// A statement may go as a Parse of a new prepared statement and its execution
// (PreparedStatements): the Parse's own result is read and not delivered.
// A script uses the simple protocol, which pipeline mode forbids, so it waits
// for an empty pipeline, leaves pipeline mode, and holds the queue until done.
internal import CLibPQ
import Glibc
import Reactor

final class PendingUnit {
    enum Work {
        case pipeline([PGStatement])
        case script(String)
    }

    /// The result libpq returns next for a pipeline unit, besides its sync.
    enum Expected {
        case parse(sql: String)
        case statement(sql: String)
    }

    let work: Work
    let completion: (Result<[PGResult], PGError>) -> Void
    var expected = FIFO<Expected>()
    var results: [PGResult] = []
    var firstError: PGError?

    init(work: Work, completion: @escaping (Result<[PGResult], PGError>) -> Void) {
        self.work = work
        self.completion = completion
    }

    var outcome: Result<[PGResult], PGError> { firstError.map { .failure($0) } ?? .success(results) }

    /// Refuses what the protocol cannot carry before anything is sent, so a
    /// unit is never half sent (a half-sent unit would still commit at its sync).
    static func validate(_ statements: [PGStatement]) -> PGError? {
        if statements.isEmpty { return PGError(.invalidQuery, "empty batch") }
        for (index, statement) in statements.enumerated() {
            if statement.sql.utf8.contains(0) {
                return PGError(.invalidQuery, "statement \(index + 1): SQL text contains a NUL byte")
            }
            if statement.params.count > Int(UInt16.max) {
                return PGError(.invalidQuery, "statement \(index + 1): more than 65535 parameters")
            }
            for (position, value) in statement.params.enumerated() {
                if case .text(let text)? = value?.storage, text.utf8.contains(0) {
                    return PGError(.invalidQuery,
                                   "statement \(index + 1), parameter $\(position + 1): text contains a NUL byte (use bytea)")
                }
            }
        }
        return nil
    }
}

extension PGConnection {
    /// Sends every waiting unit the pipeline can take now, then flushes.
    func pump() {
        guard state == .ready, let conn else { return }
        var sent = false
        sending: while !scriptActive, let unit = waiting.first {
            switch unit.work {
            case .pipeline(let statements):
                for statement in statements {
                    guard send(statement, expecting: &unit.expected, on: conn) else {
                        return fail(lostError("sending a query failed"))
                    }
                }
                guard PQpipelineSync(conn) == 1 else { return fail(lostError("sending a sync failed")) }
            case .script(let sql):
                guard inFlight.isEmpty else { break sending }
                guard PQexitPipelineMode(conn) == 1 else {
                    return fail(lostError("cannot leave pipeline mode for a script"))
                }
                guard PQsendQuery(conn, sql) == 1 else { return fail(lostError("sending a script failed")) }
                scriptActive = true
            }
            _ = waiting.popFirst()
            inFlight.append(unit)
            sent = true
        }
        if sent { flush() }
    }

    private func send(_ statement: PGStatement, expecting expected: inout FIFO<PendingUnit.Expected>,
                      on conn: OpaquePointer) -> Bool {
        let count = statement.params.count
        var values = [UnsafePointer<CChar>?](repeating: nil, count: count)
        var lengths = [Int32](repeating: 0, count: count)
        var formats = [Int32](repeating: 0, count: count)
        var owned: [UnsafeMutableRawPointer] = []
        defer { owned.forEach { free($0) } }
        for (index, value) in statement.params.enumerated() {
            guard let value else { continue }
            switch value.storage {
            case .text(let text):
                guard let copy = strdup(text) else { return false }
                owned.append(UnsafeMutableRawPointer(copy))
                values[index] = UnsafePointer(copy)
            case .bytes(let bytes):
                guard bytes.count <= Int(Int32.max), let copy = malloc(max(1, bytes.count)) else { return false }
                owned.append(copy)
                bytes.withUnsafeBytes { source in
                    if let base = source.baseAddress { copy.copyMemory(from: base, byteCount: source.count) }
                }
                values[index] = UnsafePointer(copy.assumingMemoryBound(to: CChar.self))
                lengths[index] = Int32(bytes.count)
                formats[index] = 1
            }
        }
        switch prepared.plan(for: statement.sql) {
        case .unnamed:
            expected.append(.statement(sql: statement.sql))
            return PQsendQueryParams(conn, statement.sql, Int32(count), nil, values, lengths, formats, 0) == 1
        case .prepareAndExecute(let name):
            expected.append(.parse(sql: statement.sql))
            guard PQsendPrepare(conn, name, statement.sql, Int32(count), nil) == 1 else { return false }
            expected.append(.statement(sql: statement.sql))
            return PQsendQueryPrepared(conn, name, Int32(count), values, lengths, formats, 0) == 1
        case .execute(let name):
            expected.append(.statement(sql: statement.sql))
            return PQsendQueryPrepared(conn, name, Int32(count), values, lengths, formats, 0) == 1
        }
    }

    /// Pushes buffered output; asks for writability while some remains.
    func flush() {
        guard let conn else { return }
        switch PQflush(conn) {
        case 0: needsFlush = false
        case 1: needsFlush = true
        default: return fail(lostError("writing to the server failed"))
        }
        updateInterest()
    }

    func updateInterest() {
        guard state == .ready, let registration else { return }
        reactor.modify(registration, interest: needsFlush ? [.read, .write] : .read)
    }

    /// Everything a readiness event calls for: read, flush, collect results
    /// and notifications, deliver them, send what waits.
    func service() {
        guard state == .ready, let conn else { return }
        if PQconsumeInput(conn) == 0 {
            collect(conn)  // an error the server sent before closing belongs to its unit
            return fail(lostError("reading from the server failed"))
        }
        if needsFlush { flush() }
        guard state == .ready else { return }
        collect(conn)
        guard state == .ready else { return }
        if PQstatus(conn) == CONNECTION_BAD { return fail(lostError("the connection broke")) }
        pump()
    }

    /// Reads every result libpq has complete, then calls the finished units'
    /// completions and the notification handler (after libpq is left alone,
    /// since a completion may queue more work or close the connection).
    private func collect(_ conn: OpaquePointer) {
        var finished: [PendingUnit] = []
        var nullsInARow = 0
        while PQisBusy(conn) == 0 {
            guard let result = PQgetResult(conn) else {
                if scriptActive, let unit = inFlight.popFirst() {
                    // A script's results end with its NULL.
                    scriptActive = false
                    finished.append(unit)
                    if PQenterPipelineMode(conn) != 1 {
                        unit.firstError = unit.firstError ?? lostError("cannot re-enter pipeline mode")
                        break
                    }
                }
                nullsInARow += 1
                if nullsInARow >= 2 || inFlight.isEmpty { break }
                continue
            }
            nullsInARow = 0
            defer { PQclear(result) }
            guard let unit = inFlight.first else { continue }  // nothing asked for it
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                if let done = inFlight.popFirst() { finished.append(done) }
                continue
            }
            let expected = unit.expected.popFirst()
            if case .parse(let sql)? = expected {
                prepared.parsed(sql, accepted: status == PGRES_COMMAND_OK)
                if status == PGRES_COMMAND_OK { continue }
            }
            if status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_SINGLE_TUPLE
                || status == PGRES_EMPTY_QUERY
            {
                unit.results.append(PGResult(copying: result))
            } else if status == PGRES_PIPELINE_ABORTED {
                if unit.firstError == nil {
                    unit.firstError = PGError(.queryFailed, "skipped: an earlier statement of the batch failed")
                }
            } else if status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR || status == PGRES_BAD_RESPONSE {
                let error = serverError(result, conn: conn)
                if case .statement(let sql)? = expected, PreparedStatements.invalidates(sqlState: error.sqlState) {
                    prepared.forget(sql)
                }
                if unit.firstError == nil { unit.firstError = error }
            } else {
                // COPY: the session would wait for data we never send.
                unit.firstError = PGError(.unsupported, "COPY is not supported")
                finished.forEach { $0.completion($0.outcome) }
                return fail(PGError(.unsupported, "a COPY statement left the session unusable"))
            }
        }
        var notifications: [PGNotification] = []
        while let notify = PQnotifies(conn) {
            notifications.append(PGNotification(
                channel: String(cString: notify.pointee.relname),
                payload: notify.pointee.extra.map { String(cString: $0) } ?? "",
                senderPID: notify.pointee.be_pid))
            PQfreemem(notify)
        }
        for unit in finished { unit.completion(unit.outcome) }
        for notification in notifications { onNotification?(notification) }
    }

    private func serverError(_ result: OpaquePointer, conn: OpaquePointer) -> PGError {
        func field(_ code: Character) -> String? {
            guard let ascii = code.asciiValue, let text = PQresultErrorField(result, Int32(ascii)) else { return nil }
            return String(cString: text)
        }
        let sqlState = field("C")
        let message = field("M") ?? PGText.message(PQresultErrorMessage(result))
        let lost = PGError.meansConnectionLost(sqlState) || (sqlState == nil && PQstatus(conn) == CONNECTION_BAD)
        return PGError(lost ? .connectionLost : .queryFailed, message.isEmpty ? "unknown error" : message,
                       sqlState: sqlState, detail: field("D"), hint: field("H"))
    }

    func lostError(_ what: String) -> PGError {
        let libpq = conn.map { PGText.message(PQerrorMessage($0)) } ?? ""
        return PGError(.connectionLost, libpq.isEmpty ? what : "\(what): \(libpq)")
    }
}
