// crypt(3) password hashes: yescrypt ($y$, Debian's default) or SHA-512-crypt
// ($6$). Verifying is slow on purpose (~20 ms for yescrypt): callers on the
// event loop run `verify` through `Reactor.offload`, never inline.
import CLinux

public enum PasswordHash {
    public enum Scheme: Sendable {
        case yescrypt
        case sha512

        var prefix: String {
            switch self {
            case .yescrypt: "$y$"
            case .sha512: "$6$"
            }
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A new hash of `password` with a fresh random salt.
    public static func make(_ password: String, scheme: Scheme = .yescrypt) throws -> String {
        var setting = [CChar](repeating: 0, count: 256)
        guard mg_crypt_gensalt(scheme.prefix, 0, &setting, Int32(setting.count)) == 0 else {
            throw Failure(description: "crypt_gensalt refused \(scheme.prefix)")
        }
        guard let hash = crypt(password, settingBytes: setting) else {
            throw Failure(description: "crypt failed for \(scheme.prefix)")
        }
        return hash
    }

    /// Whether `password` matches `hash`, compared in constant time.
    public static func verify(_ password: String, against hash: String) -> Bool {
        guard hash.hasPrefix("$y$") || hash.hasPrefix("$6$") else { return false }
        let setting = Array(hash.utf8CString)
        guard let computed = crypt(password, settingBytes: setting) else { return false }
        let a = Array(computed.utf8)
        let b = Array(hash.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private static func crypt(_ password: String, settingBytes: [CChar]) -> String? {
        var out = [CChar](repeating: 0, count: 512)
        let status = password.withCString { phrase in
            settingBytes.withUnsafeBufferPointer { mg_crypt(phrase, $0.baseAddress, &out, Int32(out.count)) }
        }
        guard status == 0 else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
