// TLSSession: one TLS connection over two pipe BIOs (CSSLShim/PipeBIO.c); no socket.
// The owner feeds (or lends) ciphertext, calls handshake()/readPlaintext(), writes
// plaintext, and after EVERY call sends the pending ciphertext (taken in place).
// The session starts at the first byte fed to it: for STARTTLS, discard any
// plaintext received before the handshake (CVE-2011-0411) and feed only later bytes.
// Bulk buffers stay until the owner sees it idle: releaseIdleBuffers().
internal import COpenSSL
internal import CSSLShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Not Sendable: one owner (the connection) drives it from one thread at a time.
public final class TLSSession {
    public enum HandshakeResult: Sendable, Equatable {
        /// Handshake complete. Bytes fed after the peer's last handshake message
        /// (application data in the same read) wait: call readPlaintext now.
        case done
        /// Send takeCiphertext(), then feed more bytes from the peer.
        case wantsMore
        /// Fatal; send takeCiphertext() (it may hold an alert) and close.
        case failed(TLSError)
    }

    public enum ReadResult: Sendable, Equatable {
        /// n plaintext bytes were delivered (n > 0).
        case bytes(Int)
        /// Nothing decrypted yet: feed more ciphertext.
        case wantsMore
        /// The peer sent close_notify: no more plaintext will come.
        case closed
        /// Fatal (bad record, alert, or the stream ended without close_notify).
        case failed(TLSError)
    }

    private enum Phase {
        case handshaking
        case established
        case failed(TLSError)
    }

    /// An output buffer above this is freed as soon as it drains, even mid-transfer,
    /// so one huge write does not pin its buffer for the session's lifetime.
    static let busyBIOCapacityLimit = 256 * 1024
    /// A read or write this large is a bulk transfer: from then on OpenSSL keeps
    /// its record buffers (no malloc/free per record) until releaseIdleBuffers().
    /// A drained output buffer no larger is freed at once (small talk and idle
    /// sessions keep no BIO storage); a larger one is kept for the next write
    /// until releaseIdleBuffers().
    static let bulkTransferBytes = 16 * 1024
    /// What OpenSSL's read and write record buffers take, roughly (16 KiB record,
    /// header, MAC/tag and alignment each).
    static let recordBuffersEstimate = 2 * 17 * 1024

    let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private var phase: Phase = .handshaking
    private var inputEnded = false
    private var receivedCloseNotify = false
    private var sentCloseNotify = false
    /// SSL_MODE_RELEASE_BUFFERS is off for a bulk transfer (see bulkTransferBytes).
    private var keepsRecordBuffers = false
    /// True for client sessions (we verify the peer).
    public let isClient: Bool

    /// A server session for one accepted connection (or one STARTTLS upgrade).
    public convenience init(server context: TLSServerContext) throws(TLSError) {
        guard let ssl = context.makeSSL() else {
            throw TLSError(code: .sessionSetup, message: "cannot create a server TLS session",
                           openSSLReason: drainOpenSSLErrors().text)
        }
        try self.init(ssl: ssl, isClient: false)
        SSL_set_accept_state(ssl)
    }

    /// A client session to `serverName`: a DNS name (sent as SNI, checked against
    /// the certificate's DNS names) or an IP literal, IPv6 with or without
    /// brackets (checked against IP SANs, no SNI).
    public convenience init(client context: TLSClientContext, serverName: String) throws(TLSError) {
        guard let ssl = context.makeSSL() else {
            throw TLSError(code: .sessionSetup, message: "cannot create a client TLS session",
                           openSSLReason: drainOpenSSLErrors().text)
        }
        try self.init(ssl: ssl, isClient: true)
        try expectPeer(named: serverName)
        SSL_set_connect_state(ssl)
    }

    private init(ssl: OpaquePointer, isClient: Bool) throws(TLSError) {
        guard let input = mg_pipe_bio_new() else {
            SSL_free(ssl)
            throw TLSError(code: .sessionSetup, message: "cannot create a pipe BIO")
        }
        guard let output = mg_pipe_bio_new() else {
            BIO_free(input)
            SSL_free(ssl)
            throw TLSError(code: .sessionSetup, message: "cannot create a pipe BIO")
        }
        // An empty read BIO means "retry later", not end of stream, until feedEndOfInput().
        SSL_set_bio(ssl, input, output)  // the SSL owns both BIOs from here
        self.ssl = ssl
        self.readBIO = input
        self.writeBIO = output
        self.isClient = isClient
    }

    deinit {
        SSL_free(ssl)  // frees both BIOs and drops the SSL_CTX reference
    }

    private func expectPeer(named rawName: String) throws(TLSError) {
        var name = rawName
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw TLSError(code: .invalidHostName, message: "empty or invalid server name \"\(rawName)\"")
        }
        if Self.isIPLiteral(name) {
            guard let parameters = SSL_get0_param(ssl), X509_VERIFY_PARAM_set1_ip_asc(parameters, name) == 1 else {
                throw TLSError(code: .invalidHostName, message: "cannot verify IP address \(name)",
                               openSSLReason: drainOpenSSLErrors().text)
            }
            return
        }
        SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        guard mg_ssl_set_tlsext_host_name(ssl, name) == 1, SSL_set1_host(ssl, name) == 1 else {
            throw TLSError(code: .invalidHostName, message: "unusable server name \"\(name)\"",
                           openSSLReason: drainOpenSSLErrors().text)
        }
    }

    static func isIPLiteral(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    // MARK: Ciphertext in

    /// Appends bytes received from the peer. Never fails (the BIO grows).
    public func feed(_ ciphertext: UnsafeRawBufferPointer) {
        guard var base = ciphertext.baseAddress, !inputEnded else { return }
        noteTransfer(ciphertext.count)
        var remaining = ciphertext.count
        while remaining > 0 {
            let chunk = Int32(clamping: remaining)
            let written = BIO_write(readBIO, base, chunk)
            guard written > 0 else { return }
            base += Int(written)
            remaining -= Int(written)
        }
    }

    public func feed(_ ciphertext: [UInt8]) {
        ciphertext.withUnsafeBytes { feed($0) }
    }

    public func feed(_ ciphertext: ArraySlice<UInt8>) {
        ciphertext.withUnsafeBytes { feed($0) }
    }

    /// Like feed(), without copying: `ciphertext` is read in place while `body`
    /// runs (call handshake()/readPlaintext() there); only what OpenSSL has not
    /// taken by the end (rarely anything: it holds partial records itself) is copied.
    public func lending<Result>(_ ciphertext: UnsafeRawBufferPointer, _ body: () -> Result) -> Result {
        guard let base = ciphertext.baseAddress, !ciphertext.isEmpty, !inputEnded else { return body() }
        noteTransfer(ciphertext.count)
        mg_pipe_bio_lend(readBIO, base, ciphertext.count)
        let result = body()
        if mg_pipe_bio_keep_lent(readBIO) == 0 {
            phase = .failed(TLSError(code: .protocolFailure, message: "out of memory keeping received bytes"))
        }
        return result
    }

    /// The peer closed its side (read returned 0) or the connection broke. Bytes
    /// already fed are still processed; after them OpenSSL sees end of stream,
    /// which is .failed(.unexpectedEOF) unless close_notify came first.
    public func feedEndOfInput() {
        guard !inputEnded else { return }
        inputEnded = true
        mg_pipe_bio_set_end_of_input(readBIO)
    }

    // MARK: Handshake

    /// Advances the handshake with the bytes fed so far.
    public func handshake() -> HandshakeResult {
        switch phase {
        case .established: return .done
        case .failed(let error): return .failed(error)
        case .handshaking: break
        }
        clearErrorQueue()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            phase = .established
            releaseReadBIOIfDrained()
            return .done
        }
        let code = SSL_get_error(ssl, result)
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) && !inputEnded {
            releaseReadBIOIfDrained()
            return .wantsMore
        }
        let error = failure(code: code, during: "handshake")
        phase = .failed(error)
        return .failed(error)
    }

    public var isEstablished: Bool {
        switch phase {
        case .established: return true
        case .handshaking, .failed: return false
        }
    }

    // MARK: Plaintext

    /// Decrypts into `buffer` (up to its count). Completes the handshake first if
    /// needed. After .bytes, call again: more may be buffered without new input.
    public func readPlaintext(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        switch phase {
        case .failed(let error): return .failed(error)
        case .handshaking, .established: break
        }
        if receivedCloseNotify { return .closed }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .wantsMore }
        if !inputEnded, isEstablished, mg_bio_pending(readBIO) == 0, SSL_has_pending(ssl) == 0 {
            // Nothing fed and nothing buffered: SSL_read could only say "want read".
            releaseReadBIOIfDrained()
            return .wantsMore
        }
        clearErrorQueue()
        var got = 0
        if SSL_read_ex(ssl, base, buffer.count, &got) == 1 {
            phase = .established
            return .bytes(got)
        }
        let code = SSL_get_error(ssl, 0)
        if code == SSL_ERROR_ZERO_RETURN {
            receivedCloseNotify = true
            return .closed
        }
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) && !inputEnded {
            if SSL_is_init_finished(ssl) == 1 { phase = .established }
            releaseReadBIOIfDrained()
            return .wantsMore
        }
        let error = failure(code: code, during: isEstablished ? "read" : "handshake")
        phase = .failed(error)
        return .failed(error)
    }

    /// Appends up to `max` decrypted bytes to `buffer`; .bytes(n) counts those appended.
    public func readPlaintext(into buffer: inout [UInt8], max: Int) -> ReadResult {
        var total = 0
        var last: ReadResult = .wantsMore
        while total < max {
            let chunk = min(max - total, 16 * 1024)
            last = withUnsafeTemporaryAllocation(byteCount: chunk, alignment: 1) { scratch in
                let result = readPlaintext(into: scratch)
                if case .bytes(let n) = result {
                    buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                }
                return result
            }
            guard case .bytes(let n) = last else { break }
            total += n
        }
        // Bytes first; a close or failure behind them is reported by the next call.
        return total > 0 ? .bytes(total) : last
    }

    /// Encrypts all of `plaintext` into pending ciphertext and returns its count.
    /// Returns 0 while the handshake is not done (try again after .done).
    /// Bound how much you write before draining takeCiphertext(): it all waits here.
    @discardableResult
    public func writePlaintext(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) -> Int {
        switch phase {
        case .failed(let error): throw error
        case .handshaking: return 0
        case .established: break
        }
        if sentCloseNotify {
            throw TLSError(code: .sessionClosed, message: "write after shutdown()")
        }
        guard let base = plaintext.baseAddress else { return 0 }
        noteTransfer(plaintext.count)
        var offset = 0
        clearErrorQueue()
        while offset < plaintext.count {
            var written = 0
            if SSL_write_ex(ssl, base + offset, plaintext.count - offset, &written) == 1 {
                offset += written
                continue
            }
            let error = failure(code: SSL_get_error(ssl, 0), during: "write")
            phase = .failed(error)
            throw error
        }
        return offset
    }

    @discardableResult
    public func writePlaintext(_ plaintext: [UInt8]) throws(TLSError) -> Int {
        try plaintext.withUnsafeBytes { bytes in Result { () throws(TLSError) in try writePlaintext(bytes) } }.get()
    }

    @discardableResult
    public func writePlaintext(_ plaintext: ArraySlice<UInt8>) throws(TLSError) -> Int {
        try plaintext.withUnsafeBytes { bytes in Result { () throws(TLSError) in try writePlaintext(bytes) } }.get()
    }

    // MARK: Ciphertext out

    /// Bytes waiting to be sent to the peer.
    public var pendingCiphertextCount: Int {
        var data: UnsafePointer<UInt8>? = nil
        return mg_pipe_bio_readable(writeBIO, &data)
    }

    /// Takes all pending ciphertext (one copy; [] without allocating when none).
    public func takeCiphertext() -> [UInt8] {
        var bytes: [UInt8] = []
        withPendingCiphertext { bytes = [UInt8]($0) }
        return bytes
    }

    /// Appends all pending ciphertext to `buffer`; returns how many bytes.
    @discardableResult
    public func takeCiphertext(appendingTo buffer: inout [UInt8]) -> Int {
        withPendingCiphertext { pending in
            buffer.append(contentsOf: pending)
            return pending.count
        } ?? 0
    }

    /// Hands all pending ciphertext to `body` in place (no copy), then drops it:
    /// `body` must send or copy all of it. Nil, without calling `body`, when none.
    @discardableResult
    public func withPendingCiphertext<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        var data: UnsafePointer<UInt8>? = nil
        let pending = mg_pipe_bio_readable(writeBIO, &data)
        guard pending > 0, let data else { return nil }
        let result = body(UnsafeRawBufferPointer(start: data, count: pending))
        mg_pipe_bio_consume(writeBIO, pending)
        let capacity = mg_pipe_bio_capacity(writeBIO)
        if capacity <= Self.bulkTransferBytes || capacity > Self.busyBIOCapacityLimit {
            mg_pipe_bio_release_if_empty(writeBIO, 0)
        }
        return result
    }

    /// Bytes of BIO storage this session holds (not counting OpenSSL's own record
    /// buffers, which SSL_MODE_RELEASE_BUFFERS frees between records).
    public var bufferedCapacity: Int {
        mg_pipe_bio_capacity(readBIO) + mg_pipe_bio_capacity(writeBIO)
            + (keepsRecordBuffers ? Self.recordBuffersEstimate : 0)
    }

    /// Frees drained BIO storage; for an owner that saw the session go idle after
    /// a bulk transfer. Costs one reallocation if the transfer resumes.
    public func releaseIdleBuffers() {
        mg_pipe_bio_release_if_empty(readBIO, 0)
        mg_pipe_bio_release_if_empty(writeBIO, 0)
        if keepsRecordBuffers {
            keepsRecordBuffers = false
            _ = mg_ssl_set_mode(ssl, Int(SSL_MODE_RELEASE_BUFFERS))
            // Only with nothing buffered: OpenSSL before 3.0.14 freed a buffer holding a
            // partial record (CVE-2024-4741). Otherwise the mode frees it once read.
            if SSL_has_pending(ssl) == 0 { _ = SSL_free_buffers(ssl) }
        }
    }

    /// Queues close_notify (send takeCiphertext() afterwards). The caller need not
    /// wait for the peer's close_notify before closing the socket.
    public func shutdown() {
        guard !sentCloseNotify else { return }
        sentCloseNotify = true
        switch phase {
        case .established:
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        case .handshaking, .failed:
            break  // nothing may be sent mid-handshake or after a fatal error
        }
    }

    // MARK: Internals

    private func noteTransfer(_ count: Int) {
        guard !keepsRecordBuffers, count >= Self.bulkTransferBytes else { return }
        keepsRecordBuffers = true
        _ = mg_ssl_clear_mode(ssl, Int(SSL_MODE_RELEASE_BUFFERS))
    }

    /// SSL_get_error needs an empty queue before each call; peeking is cheaper
    /// than clearing all its slots every time.
    private func clearErrorQueue() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    private func releaseReadBIOIfDrained() {
        // Lent input leaves nothing here in the common case; what was copied goes.
        mg_pipe_bio_release_if_empty(readBIO, 0)
    }

    private func failure(code: Int32, during step: String) -> TLSError {
        let (reason, first) = drainOpenSSLErrors()
        let isEOF = inputEnded && (code == SSL_ERROR_SYSCALL || code == SSL_ERROR_WANT_READ
            || (ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING))
        if isEOF {
            let message = step == "handshake"
                ? "the peer closed the connection during the handshake"
                : "the peer closed the connection without close_notify"
            return TLSError(code: .unexpectedEOF, message: message, openSSLReason: reason)
        }
        if isClient, step == "handshake" {
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                let text = X509_verify_cert_error_string(verify).map { String(cString: $0) } ?? "error \(verify)"
                return TLSError(code: .verificationFailed, message: "the server certificate was refused",
                                openSSLReason: reason, verifyResult: text)
            }
        }
        let code: TLSError.Code = step == "handshake" ? .handshakeFailed : .protocolFailure
        return TLSError(code: code, message: "TLS \(step) failed", openSSLReason: reason)
    }
}

@available(*, unavailable, message: "a TLSSession belongs to one connection")
extension TLSSession: Sendable {}
