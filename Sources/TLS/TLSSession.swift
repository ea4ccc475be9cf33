// TLSSession: one TLS connection over two memory BIOs; it never touches a socket.
// The owner feeds ciphertext from the peer, calls handshake()/readPlaintext(),
// writes plaintext, and after EVERY call sends what takeCiphertext() returns.
// The session starts at the first byte fed to it: for STARTTLS, discard any
// plaintext received before the handshake (CVE-2011-0411) and feed only later bytes.
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

    /// A memory BIO whose buffer grew beyond this is replaced once drained, so an
    /// idle session does not keep the buffer of its largest burst.
    static let idleBIOCapacityLimit = 8 * 1024

    let ssl: OpaquePointer
    private var readBIO: OpaquePointer
    private var writeBIO: OpaquePointer
    private var phase: Phase = .handshaking
    private var inputEnded = false
    private var receivedCloseNotify = false
    private var sentCloseNotify = false
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
        guard let input = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError(code: .sessionSetup, message: "cannot create a memory BIO")
        }
        guard let output = BIO_new(BIO_s_mem()) else {
            BIO_free(input)
            SSL_free(ssl)
            throw TLSError(code: .sessionSetup, message: "cannot create a memory BIO")
        }
        // An empty read BIO means "retry later", not end of stream, until feedEndOfInput().
        _ = mg_bio_set_mem_eof_return(input, -1)
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

    /// The peer closed its side (read returned 0) or the connection broke. Bytes
    /// already fed are still processed; after them OpenSSL sees end of stream,
    /// which is .failed(.unexpectedEOF) unless close_notify came first.
    public func feedEndOfInput() {
        guard !inputEnded else { return }
        inputEnded = true
        _ = mg_bio_set_mem_eof_return(readBIO, 0)
    }

    // MARK: Handshake

    /// Advances the handshake with the bytes fed so far.
    public func handshake() -> HandshakeResult {
        switch phase {
        case .established: return .done
        case .failed(let error): return .failed(error)
        case .handshaking: break
        }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            phase = .established
            return .done
        }
        let code = SSL_get_error(ssl, result)
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) && !inputEnded {
            shrinkReadBIOIfDrained()
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
        ERR_clear_error()
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
            shrinkReadBIOIfDrained()
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
        var offset = 0
        ERR_clear_error()
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
        Int(mg_bio_pending(writeBIO))
    }

    /// Takes all pending ciphertext (one copy; [] without allocating when none).
    public func takeCiphertext() -> [UInt8] {
        let pending = Int(mg_bio_pending(writeBIO))
        guard pending > 0 else { return [] }
        let count = min(pending, Int(Int32.max))
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = Int(max(0, BIO_read(writeBIO, buffer.baseAddress, Int32(count))))
        }
        shrinkWriteBIOIfDrained()
        return bytes
    }

    /// Appends all pending ciphertext to `buffer`; returns how many bytes.
    @discardableResult
    public func takeCiphertext(appendingTo buffer: inout [UInt8]) -> Int {
        var data: UnsafeMutablePointer<CChar>? = nil
        let pending = Int(mg_bio_get_mem_data(writeBIO, &data))
        guard pending > 0, let data else { return 0 }
        buffer.append(contentsOf: UnsafeRawBufferPointer(start: data, count: pending))
        discardWriteBIO(count: pending)
        return pending
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

    private func discardWriteBIO(count: Int) {
        if mg_bio_mem_capacity(writeBIO) > Self.idleBIOCapacityLimit {
            replaceWriteBIO()  // drops the pending bytes with the big buffer
            return
        }
        var left = count
        while left > 0 {
            let step = min(left, 4096)
            let read = withUnsafeTemporaryAllocation(byteCount: step, alignment: 1) { scratch in
                BIO_read(writeBIO, scratch.baseAddress, Int32(step))
            }
            guard read > 0 else { return }
            left -= Int(read)
        }
    }

    private func shrinkWriteBIOIfDrained() {
        if mg_bio_pending(writeBIO) == 0, mg_bio_mem_capacity(writeBIO) > Self.idleBIOCapacityLimit {
            replaceWriteBIO()
        }
    }

    private func replaceWriteBIO() {
        guard let fresh = BIO_new(BIO_s_mem()) else { return }
        SSL_set0_wbio(ssl, fresh)  // frees the old one
        writeBIO = fresh
    }

    private func shrinkReadBIOIfDrained() {
        guard mg_bio_pending(readBIO) == 0, mg_bio_mem_capacity(readBIO) > Self.idleBIOCapacityLimit,
              let fresh = BIO_new(BIO_s_mem()) else { return }
        _ = mg_bio_set_mem_eof_return(fresh, inputEnded ? 0 : -1)
        SSL_set0_rbio(ssl, fresh)  // frees the old one
        readBIO = fresh
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
