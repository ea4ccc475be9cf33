// Where and how the proxy logs in upstream for one gateway user: the account
// named by the user's imap_account, taken from the config in force when the
// login happens. `prepare` runs off the loop (it reads the secret file and may
// load CA certificates); secrets never appear in descriptions or logs.
import Config
import Glibc
import IMAPProtocol
import Reactor
import TLS

/// Where an upstream IMAP server is and how it is reached: what a ready,
/// not yet logged-in connection depends on (IMAPUpstreamPool's key).
struct IMAPUpstreamEndpoint: Hashable, Sendable, CustomStringConvertible {
    let host: String
    let port: UInt16
    let security: IMAPUpstreamLoginConfiguration.Security
    /// The CA file that verifies the server; nil for the system CAs.
    let caFile: String?

    var description: String { "\(host):\(port)" }
}

struct IMAPUpstreamTarget: Sendable {
    let accountName: String
    let host: String
    let port: UInt16
    let security: IMAPUpstreamLoginConfiguration.Security
    let username: String
    let credential: UpstreamCredential
    let caFile: String?

    var endpoint: IMAPUpstreamEndpoint {
        IMAPUpstreamEndpoint(host: host, port: port, security: security, caFile: caFile)
    }

    /// The target for `userName`, or why there is none.
    static func find(userName: String, in config: MailgateConfig) -> Result<IMAPUpstreamTarget, IMAPTargetError> {
        guard let user = config.users.first(where: { $0.name == userName }) else {
            return .failure(IMAPTargetError("user \(userName) no longer exists"))
        }
        guard let accountName = user.imapAccount else {
            return .failure(IMAPTargetError("user \(userName) has no imap_account"))
        }
        guard let account = config.accounts.first(where: { $0.name == accountName }),
              let target = IMAPUpstreamTarget(account: account) else {
            return .failure(IMAPTargetError("account \(accountName) has no imap URL"))
        }
        return .success(target)
    }

    /// Reads the credential and, when TLS is used and `cachedContext` is nil,
    /// builds the client TLS context. Blocking: run through `Reactor.offload`.
    /// `oauth2Token` is the access token for an account with an oauth2 table (OAuth2TokenService).
    func prepare(cachedContext: TLSClientContext?, oauth2Token: String? = nil)
        -> Result<IMAPPreparedUpstream, IMAPTargetError> {
        let credential: IMAPUpstreamLoginConfiguration.Credential
        switch self.credential {
        case .none:
            return .failure(IMAPTargetError("account \(accountName) has no password_file or oauth2_token_file"))
        case .passwordFile(let path):
            switch SecretFileReader.read(path) {
            case .success(let text): credential = .password(text)
            case .failure(let error): return .failure(error)
            }
        case .oauth2TokenFile(let path):
            switch SecretFileReader.read(path) {
            case .success(let text): credential = .oauth2Token(text)
            case .failure(let error): return .failure(error)
            }
        case .oauth2Refresh:
            guard let oauth2Token else {
                return .failure(IMAPTargetError("account \(accountName) has no OAuth2 access token"))
            }
            credential = .oauth2Token(oauth2Token)
        }
        var context = cachedContext
        if security != .none && context == nil {
            do {
                context = try TLSClientContext(caFile: caFile)
            } catch {
                return .failure(IMAPTargetError("TLS client context for account \(accountName): \(error)"))
            }
        }
        return .success(IMAPPreparedUpstream(credential: credential, tlsContext: context))
    }
}

/// What `prepare` produced; the credential's description is redacted.
struct IMAPPreparedUpstream: Sendable {
    let credential: IMAPUpstreamLoginConfiguration.Credential
    /// nil exactly when the target uses no TLS.
    let tlsContext: TLSClientContext?
}

extension IMAPUpstreamTarget {
    /// The login to `account`'s IMAP server (proxy, sync and health check alike); nil without an imap URL.
    init?(account: AccountConfig) {
        guard let url = account.imap else { return nil }
        let security: IMAPUpstreamLoginConfiguration.Security
        switch url.security {
        case .implicitTLS: security = .implicitTLS
        case .startTLS: security = .startTLS
        case .none: security = .none
        }
        self.init(accountName: account.name, host: url.host, port: url.port, security: security,
                  username: account.username ?? account.address, credential: account.credential,
                  caFile: account.caFile)
    }

    /// The login of this target's account, for `client` (sent upstream with ID; nil for mailgate's own sessions).
    func account(_ prepared: IMAPPreparedUpstream, client: SocketAddress?) -> IMAPUpstreamAccount {
        IMAPUpstreamAccount(username: username, credential: prepared.credential, clientAddress: client?.host,
                            clientPort: client.map { Int($0.port) })
    }
}

struct IMAPTargetError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Reads a small secret file (a password or token) whole; one trailing line
/// break is dropped, since editors add one. At most 64 KiB.
enum SecretFileReader {
    static let maxSize = 65536

    static func read(_ path: String) -> Result<String, IMAPTargetError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(IMAPTargetError("cannot open secret file \(path): \(errnoText())")) }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(IMAPTargetError("cannot read secret file \(path): \(errnoText())"))
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            guard bytes.count <= maxSize else { return .failure(IMAPTargetError("secret file \(path) is too large")) }
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty, !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(IMAPTargetError("secret file \(path) is empty or not UTF-8 text"))
        }
        return .success(text)
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
