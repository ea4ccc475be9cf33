// What the one-click unsubscribe needs at run time: the signing key (the first
// line of [unsubscribe] secret_file, read at start and on reload), the links a
// bulk message gets (RFC 2369 mailto, RFC 8058 https) and the SQL that carries
// out an unsubscribe (suppression for that sender, source 'unsubscribe', and an
// `unsubscribed` event, both only the first time). Without [unsubscribe] the
// mailto links are signed with a key kept in email_secrets (made once, shared
// by every node); until it is loaded, `key` is nil and no links are made.
import Config
import Foundation
import Logging
import MailCore
import Postgres
import Reactor
import Threading

final class UnsubscribeLinks {
    static let storedKeyName = "unsubscribe"

    /// The file's key with [unsubscribe], else the stored one once loaded.
    var key: [UInt8]? { fileKey ?? storedKey }
    private var fileKey: [UInt8]?
    private var storedKey: [UInt8]?
    private var config: MailgateConfig
    private let logger = Logger(label: "unsubscribe")

    /// Fails with a message naming the file when [unsubscribe] names one that cannot be read.
    init(config: MailgateConfig) throws(UnsubscribeKeyError) {
        self.config = config
        self.fileKey = try Self.loadFileKey(config)
    }

    /// Keeps the old key when the new one cannot be read.
    func reload(_ newConfig: MailgateConfig) throws(UnsubscribeKeyError) {
        let newKey = try Self.loadFileKey(newConfig)
        config = newConfig
        fileKey = newKey
    }

    private static func loadFileKey(_ config: MailgateConfig) throws(UnsubscribeKeyError) -> [UInt8]? {
        guard let path = config.unsubscribe?.secretFile else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .unreadable(path) }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let secret = Array((line.hasSuffix("\r") ? line.dropLast() : line).utf8)
        guard secret.count >= 16 else { throw .tooShort(path) }
        return secret
    }

    /// Loads (making it first if no node has) the key in email_secrets, retrying every few seconds
    /// while the database does not answer; `ready` runs once a key is usable (at once with a file key).
    func loadStoredKey(pool: PGPool, reactor: Reactor, ready: @escaping () -> Void) {
        if fileKey != nil {
            ready()
            return attemptStoredKey(pool: pool, reactor: reactor, ready: {})
        }
        attemptStoredKey(pool: pool, reactor: reactor, ready: ready)
    }

    private func attemptStoredKey(pool: PGPool, reactor: Reactor, ready: @escaping () -> Void) {
        var random = SystemRandomNumberGenerator()
        let candidate = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        pool.batch([
            PGStatement("INSERT INTO email_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                        [PGValue(Self.storedKeyName), .bytes(candidate)]),
            PGStatement("SELECT value FROM email_secrets WHERE name = $1", [PGValue(Self.storedKeyName)]),
        ]) { [weak self] result in
            guard let self else { return }
            if case .success(let results) = result, results.count == 2, let stored = results[1].first?.bytes("value"),
               stored.count >= 16 {
                self.storedKey = stored
                return ready()
            }
            self.logger.warning("cannot load the unsubscribe key: retrying", metadata: ["result": "\(result)"])
            reactor.schedule(after: .seconds(3)) { [weak self] in
                self?.attemptStoredKey(pool: pool, reactor: reactor, ready: ready)
            }
        }
    }

    /// The List-Unsubscribe URIs for `recipient` of mail from `sender` sent through `account`:
    /// mailto always, https when [unsubscribe] is configured. nil when no token can be made.
    func links(sender: String, recipient: String, account: String?) -> (mailto: String, https: String?)? {
        guard let key, let token = UnsubscribeToken.make(UnsubscribeRequest(sender: sender, recipient: recipient), key: key),
              let address = mailtoAddress(account: account) else { return nil }
        let mailto = "mailto:\(address)?subject=unsubscribe%20\(token)"
        let https = config.unsubscribe.map { Self.join($0.publicURL.text, token) }
        return (mailto, https)
    }

    /// unsubscribe@ the first inbound domain when mailgate receives mail itself; else the
    /// account's own address with a +unsubscribe tag (the IMAP sync reads it from there).
    func mailtoAddress(account: String?) -> String? {
        if !config.inbound.listen.isEmpty, let domain = config.inbound.domains.first {
            return "unsubscribe@\(domain)"
        }
        guard let account = account.flatMap(config.account(named:)),
              let at = account.address.lastIndex(of: "@") else { return nil }
        return account.address[..<at] + "+unsubscribe" + account.address[at...]
    }

    private static func join(_ base: String, _ token: String) -> String {
        base.hasSuffix("/") ? base + token : base + "/" + token
    }
}

enum UnsubscribeKeyError: Error, CustomStringConvertible {
    case unreadable(String)
    case tooShort(String)

    var description: String {
        switch self {
        case .unreadable(let path): "cannot read the unsubscribe secret file \(path)"
        case .tooShort(let path): "the unsubscribe secret in \(path) is shorter than 16 bytes"
        }
    }
}

enum UnsubscribeSQL {
    /// Suppresses `request.recipient` for `request.sender` and records the event, tied to our latest
    /// send between them when there is one. Returns a row only when the suppression is new.
    static func unsubscribe(_ request: UnsubscribeRequest, via channel: String) -> PGStatement {
        PGStatement("""
            WITH added AS (
                INSERT INTO email_suppressions (address, scope, reason, source)
                VALUES ($1, $2, 'unsubscribed (' || $3 || ')', 'unsubscribe')
                ON CONFLICT (address, scope) DO NOTHING RETURNING address),
            latest AS (
                SELECT s.id, s.queue_id, s.account FROM email_sends s JOIN email_queue q ON q.id = s.queue_id
                WHERE lower(s.recipient) = $1 AND lower(q.mail_from) = $2 ORDER BY s.id DESC LIMIT 1)
            INSERT INTO email_events (queue_id, send_id, recipient, event, account, reason, detail)
            SELECT (SELECT queue_id FROM latest), (SELECT id FROM latest), $1, 'unsubscribed',
                   (SELECT account FROM latest), 'unsubscribe', 'from ' || $2 || ' by ' || $3
            FROM added RETURNING id
            """, [PGValue(request.recipient), PGValue(request.sender), PGValue(channel)])
    }
}
