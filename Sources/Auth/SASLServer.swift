// Server-side SASL (PLAIN, LOGIN) through Cyrus SASL. Every Cyrus call runs
// on one dedicated thread: Debian's libsasl2 ships no-op mutexes, and the
// password check inside it (crypt(3), slow on purpose) must stay off the event
// loop. The thread owns the sasl_conn_t pointers in a table no other thread
// sees; sessions are named by id, and results come back through the Sendable
// `reply` closure (the caller forwards them to its loop with a LoopChannel).
// Cyrus verifies through our SASL_CB_SERVER_USERDB_CHECKPASS callback against
// the UserDirectory; a failed check surfaces as SASL_NOUSER or SASL_BADAUTH.
import CSASL
import Dispatch
import Foundation
import Synchronization

public enum SASLStep: Sendable, Equatable {
    /// Send this challenge to the client and pass its answer to `step`.
    case challenge([UInt8])
    case success(user: String)
    /// Authentication failed; `reason` is for logs, never for the client.
    case failure(reason: String)
}

public final class SASLServer: Sendable {
    public typealias Reply = @Sendable (SASLStep) -> Void

    private enum Request: Sendable {
        case start(id: UInt64, mechanism: String, initial: [UInt8]?, secure: Bool, reply: Reply)
        case step(id: UInt64, response: [UInt8], reply: Reply)
        case end(id: UInt64)
    }

    /// The directory Cyrus's check callback consults: one per process, since
    /// Cyrus's callbacks are process-global.
    static let directory = Mutex<UserDirectory?>(nil)

    private final class RequestQueue: Sendable {
        let pending = Mutex<[Request]>([])
        let wake = DispatchSemaphore(value: 0)

        func submit(_ request: Request) {
            pending.withLock { $0.append(request) }
            wake.signal()
        }

        func takeAll() -> [Request] {
            wake.wait()
            return pending.withLock { pending in
                defer { pending.removeAll() }
                return pending
            }
        }
    }

    private let queue = RequestQueue()
    private let nextID = Atomic<UInt64>(1)

    /// Starts the SASL thread. `service` is "smtp" or "imap"; `hostname` our name.
    public init(service: String, hostname: String, users: UserDirectory) {
        SASLServer.directory.withLock { $0 = users }
        let queue = self.queue
        let thread = Thread {
            var worker = SASLWorker(service: service, hostname: hostname)
            while true {
                for request in queue.takeAll() { worker.handle(request) }
            }
        }
        thread.name = "mailgate-sasl"
        thread.start()
    }

    public func makeSessionID() -> UInt64 { nextID.add(1, ordering: .relaxed).oldValue }

    /// Begins an exchange. `secure` says the connection is under TLS: PLAIN
    /// and LOGIN are refused otherwise.
    public func start(session id: UInt64, mechanism: String, initialResponse: [UInt8]?, secure: Bool, reply: @escaping Reply) {
        submit(.start(id: id, mechanism: mechanism, initial: initialResponse, secure: secure, reply: reply))
    }

    /// The client's answer to a challenge.
    public func step(session id: UInt64, response: [UInt8], reply: @escaping Reply) {
        submit(.step(id: id, response: response, reply: reply))
    }

    /// Frees the session's Cyrus state (after success, failure or disconnect).
    public func end(session id: UInt64) { submit(.end(id: id)) }

    private func submit(_ request: Request) { queue.submit(request) }

    /// Lives on the SASL thread only.
    private struct SASLWorker {
        private var connections: [UInt64: OpaquePointer] = [:]
        private let service: String
        private let hostname: String
        private let ready: Bool

        init(service: String, hostname: String) {
            self.service = service
            self.hostname = hostname
            ready = SASLLibrary.initialise()
        }

        mutating func handle(_ request: Request) {
            switch request {
            case .start(let id, let mechanism, let initial, let secure, let reply):
                end(id)
                guard ready, let connection = newConnection(secure: secure) else {
                    return reply(.failure(reason: "SASL library unavailable"))
                }
                connections[id] = connection
                var output: UnsafePointer<CChar>?
                var outputLength: UInt32 = 0
                let status: Int32
                if let initial {
                    status = withClientBytes(initial) {
                        sasl_server_start(connection, mechanism, $0, $1, &output, &outputLength)
                    }
                } else {
                    status = sasl_server_start(connection, mechanism, nil, 0, &output, &outputLength)
                }
                finish(id, status: status, output: output, length: outputLength, reply: reply)
            case .step(let id, let response, let reply):
                guard let connection = connections[id] else { return reply(.failure(reason: "no exchange in progress")) }
                var output: UnsafePointer<CChar>?
                var outputLength: UInt32 = 0
                let status = withClientBytes(response) {
                    sasl_server_step(connection, $0, $1, &output, &outputLength)
                }
                finish(id, status: status, output: output, length: outputLength, reply: reply)
            case .end(let id):
                end(id)
            }
        }

        private mutating func finish(
            _ id: UInt64, status: Int32, output: UnsafePointer<CChar>?, length: UInt32, reply: Reply
        ) {
            guard let connection = connections[id] else { return }
            switch status {
            case SASL_CONTINUE:
                let bytes = output.map { pointer in
                    Array(UnsafeRawBufferPointer(start: pointer, count: Int(length)))
                } ?? []
                reply(.challenge(bytes))
            case SASL_OK:
                var value: UnsafeRawPointer?
                let user: String
                if sasl_getprop(connection, SASL_USERNAME, &value) == SASL_OK, let value {
                    user = String(cString: value.assumingMemoryBound(to: CChar.self))
                } else {
                    user = ""
                }
                end(id)
                reply(user.isEmpty ? .failure(reason: "no user name") : .success(user: user))
            default:
                let detail = sasl_errdetail(connection).map { String(cString: $0) } ?? "SASL error \(status)"
                end(id)
                reply(.failure(reason: detail))
            }
        }

        private mutating func end(_ id: UInt64) {
            guard var connection = connections.removeValue(forKey: id) as OpaquePointer? else { return }
            withUnsafeMutablePointer(to: &connection) { pointer in
                pointer.withMemoryRebound(to: OpaquePointer?.self, capacity: 1) { sasl_dispose($0) }
            }
        }

        private func newConnection(secure: Bool) -> OpaquePointer? {
            var connection: OpaquePointer?
            guard sasl_server_new(service, hostname, nil, nil, nil, nil, 0, &connection) == SASL_OK,
                  let connection else { return nil }
            var properties = sasl_security_properties_t()
            properties.min_ssf = 0
            properties.max_ssf = 0
            properties.maxbufsize = 0
            properties.security_flags = UInt32(SASL_SEC_NOANONYMOUS) | (secure ? 0 : UInt32(SASL_SEC_NOPLAINTEXT))
            _ = sasl_setprop(connection, SASL_SEC_PROPS, &properties)
            if secure {
                var ssf: sasl_ssf_t = 256
                _ = sasl_setprop(connection, SASL_SSF_EXTERNAL, &ssf)
            }
            return connection
        }
    }
}

/// Client bytes as Cyrus takes them: a pointer (never null, even when empty) and a length.
private func withClientBytes<Result>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>, UInt32) -> Result) -> Result {
    let terminated = bytes + [0]
    return terminated.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!, UInt32(bytes.count)) }
    }
}

/// Cyrus's process-wide setup: our callbacks, once.
private enum SASLLibrary {
    static func initialise() -> Bool {
        let callbacks = UnsafeMutablePointer<sasl_callback_t>.allocate(capacity: 3)
        callbacks[0] = sasl_callback_t(
            id: UInt(SASL_CB_GETOPT), proc: unsafeBitCast(getOption, to: (@convention(c) () -> Int32).self),
            context: nil)
        callbacks[1] = sasl_callback_t(
            id: UInt(SASL_CB_SERVER_USERDB_CHECKPASS),
            proc: unsafeBitCast(checkPassword, to: (@convention(c) () -> Int32).self), context: nil)
        callbacks[2] = sasl_callback_t(id: UInt(SASL_CB_LIST_END), proc: nil, context: nil)
        return sasl_server_init(callbacks, "mailgate") == SASL_OK
    }
}

/// Options Cyrus asks for: only PLAIN and LOGIN, no auxprop store, no saslauthd.
private let getOption: @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
    UnsafeMutablePointer<UnsafePointer<CChar>?>?, UnsafeMutablePointer<UInt32>?
) -> Int32 = { _, _, option, result, length in
    guard let option, let result else { return SASL_FAIL }
    let value: StaticString
    switch String(cString: option) {
    case "mech_list": value = "PLAIN LOGIN"
    case "pwcheck_method": value = "auxprop"
    case "auxprop_plugin": value = "mailgate-none"
    case "log_level": value = "0"
    default: return SASL_FAIL
    }
    result.pointee = UnsafeRawPointer(value.utf8Start).assumingMemoryBound(to: CChar.self)
    length?.pointee = UInt32(value.utf8CodeUnitCount)
    return SASL_OK
}

private let checkPassword: @convention(c) (
    OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UInt32, OpaquePointer?
) -> Int32 = { _, _, user, password, length, _ in
    guard let user, let password, let directory = SASLServer.directory.withLock({ $0 }) else { return SASL_NOUSER }
    let bytes = Array(UnsafeRawBufferPointer(start: password, count: Int(length)))
    return directory.verify(user: String(cString: user), password: bytes) ? SASL_OK : SASL_BADAUTH
}
