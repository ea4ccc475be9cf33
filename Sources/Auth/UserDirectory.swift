// The gateway users' password hashes, shared by SMTP AUTH and IMAP login,
// with a short-lived cache of verified credentials (like Dovecot's auth
// cache): it holds an HMAC of user and password under a key made at start,
// never the password, so applications that log in per message skip the
// deliberately slow hash. Replacing the users (SIGHUP) empties the cache.
import COpenSSL
import Synchronization

public final class UserDirectory: Sendable {
    private struct State {
        var hashes: [String: String] = [:]
        var verified: [String: (digest: [UInt8], expires: UInt64)] = [:]
    }

    private let state = Mutex(State())
    private let cacheKey: [UInt8]
    private let cacheLifetime: UInt64

    public init(hashes: [String: String] = [:], cacheLifetime: Duration = .seconds(300)) {
        var key = [UInt8](repeating: 0, count: 32)
        _ = RAND_bytes(&key, 32)
        cacheKey = key
        let (seconds, attoseconds) = cacheLifetime.components
        self.cacheLifetime = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        state.withLock { $0.hashes = hashes }
    }

    /// Replaces the users (config reload); cached verifications are dropped.
    public func replace(hashes: [String: String]) {
        state.withLock { state in
            state.hashes = hashes
            state.verified = [:]
        }
    }

    public func contains(user: String) -> Bool {
        state.withLock { $0.hashes[user] != nil }
    }

    /// Whether `password` is `user`'s. Blocks for the hash when not cached:
    /// never call on the event loop.
    public func verify(user: String, password: [UInt8]) -> Bool {
        let digest = hmac(user: user, password: password)
        let now = monotonicNow()
        let (hash, cached) = lookUp(user: user, digest: digest, now: now)
        guard let hash else { return false }
        if cached { return true }
        guard let text = String(validating: password, as: UTF8.self),
              PasswordHash.verify(text, against: hash) else { return false }
        state.withLock { state in
            // Only cache against the hash we checked: a reload in between wins.
            if state.hashes[user] == hash { state.verified[user] = (digest, now + cacheLifetime) }
        }
        return true
    }

    /// True when this very password was verified for `user` within the cache
    /// lifetime; nil when only `verify` can tell. Never blocks (one HMAC):
    /// the event loop answers a cached login without a thread hop.
    public func cachedVerification(user: String, password: [UInt8]) -> Bool? {
        let (hash, cached) = lookUp(user: user, digest: hmac(user: user, password: password), now: monotonicNow())
        return hash != nil && cached ? true : nil
    }

    private func lookUp(user: String, digest: [UInt8], now: UInt64) -> (hash: String?, cached: Bool) {
        state.withLock { state -> (String?, Bool) in
            guard let hash = state.hashes[user] else { return (nil, false) }
            if let entry = state.verified[user], entry.expires > now, entry.digest == digest { return (hash, true) }
            return (hash, false)
        }
    }

    private func hmac(user: String, password: [UInt8]) -> [UInt8] {
        var message = Array(user.utf8)
        message.append(0)
        message.append(contentsOf: password)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = cacheKey.withUnsafeBytes { key in
            message.withUnsafeBytes { data in
                HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), data.baseAddress?.assumingMemoryBound(to: UInt8.self),
                     data.count, &out, &length)
            }
        }
        return Array(out.prefix(Int(length)))
    }

    private func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
