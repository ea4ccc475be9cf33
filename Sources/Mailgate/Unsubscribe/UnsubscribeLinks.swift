// What the one-click unsubscribe needs at run time: the signing key (the first
// line of [unsubscribe] secret_file, read at start and on reload), the links a
// bulk message gets (RFC 2369 mailto, RFC 8058 https) and the SQL that carries
// out an unsubscribe (suppression for that sender, source 'unsubscribe', and an
// `unsubscribed` event, both only the first time). Without [unsubscribe] there
// is no key yet links must verify: a per-process random key signs mailto links.
import Config
import Foundation
import MailCore
import Postgres
import Threading

final class UnsubscribeLinks {
    private(set) var key: [UInt8]
    private var config: MailgateConfig

    /// Fails with a message naming the file when [unsubscribe] names one that cannot be read.
    init(config: MailgateConfig) throws(UnsubscribeKeyError) {
        self.config = config
        self.key = try Self.loadKey(config)
    }

    /// Keeps the old key when the new one cannot be read.
    func reload(_ newConfig: MailgateConfig) throws(UnsubscribeKeyError) {
        let newKey = try Self.loadKey(newConfig)
        config = newConfig
        key = newKey
    }

    private static func loadKey(_ config: MailgateConfig) throws(UnsubscribeKeyError) -> [UInt8] {
        guard let path = config.unsubscribe?.secretFile else {
            return (0..<32).map { _ in UInt8.random(in: 0...255) }
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .unreadable(path) }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let secret = Array((line.hasSuffix("\r") ? line.dropLast() : line).utf8)
        guard secret.count >= 16 else { throw .tooShort(path) }
        return secret
    }

    /// The List-Unsubscribe URIs for `recipient` of mail from `sender` sent through `account`:
    /// mailto always, https when [unsubscribe] is configured. nil when no token can be made.
    func links(sender: String, recipient: String, account: String?) -> (mailto: String, https: String?)? {
        guard let token = UnsubscribeToken.make(UnsubscribeRequest(sender: sender, recipient: recipient), key: key),
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
