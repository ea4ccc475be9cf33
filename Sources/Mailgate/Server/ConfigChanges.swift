// What a SIGHUP reload changed, one sentence each, for the log: accounts and
// users added, removed or changed (and which of their settings, limits with old
// and new values), listeners, relay, retention and server settings. Secrets are
// never shown: a credential change reads "credential". Pure: two configs in,
// sentences out, in a stable order.
import Config

enum ConfigChanges {
    static func between(_ old: MailgateConfig, _ new: MailgateConfig) -> [String] {
        var changes: [String] = []
        changes += named("account", old.accounts, new.accounts, name: \.name, differences: accountDifferences)
        changes += named("user", old.users, new.users, name: \.name, differences: userDifferences)
        func compare<Value: Equatable>(_ label: String, _ path: KeyPath<MailgateConfig, Value>) {
            if old[keyPath: path] != new[keyPath: path] { changes.append("\(label) changed") }
        }
        compare("[server]", \.server)
        compare("[database]", \.database)
        compare("[tls] files", \.tls)
        compare("[submission]", \.submission)
        compare("[imap]", \.imap)
        compare("[inbound]", \.inbound)
        compare("[relay]", \.relay)
        compare("[metrics]", \.metrics)
        compare("[unsubscribe]", \.unsubscribe)
        compare("[retention]", \.retention)
        compare("[[webhook]]", \.webhooks)
        return changes
    }

    private static func named<Item>(_ kind: String, _ old: [Item], _ new: [Item], name: (Item) -> String,
                                    differences: (Item, Item) -> [String]) -> [String] {
        let before = Dictionary(old.map { (name($0), $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(new.map { (name($0), $0) }, uniquingKeysWith: { first, _ in first })
        var changes: [String] = []
        for item in new where before[name(item)] == nil { changes.append("\(kind) \(name(item)) added") }
        for item in old where after[name(item)] == nil { changes.append("\(kind) \(name(item)) removed") }
        for item in new {
            guard let previous = before[name(item)] else { continue }
            let what = differences(previous, item)
            if !what.isEmpty { changes.append("\(kind) \(name(item)) changed: \(what.joined(separator: ", "))") }
        }
        return changes
    }

    private static func accountDifferences(_ old: AccountConfig, _ new: AccountConfig) -> [String] {
        var what: [String] = []
        func limit(_ label: String, _ before: Int?, _ after: Int?) {
            if before != after { what.append("\(label) \(text(before)) -> \(text(after))") }
        }
        limit("per_minute", old.limits.perMinute, new.limits.perMinute)
        limit("per_hour", old.limits.perHour, new.limits.perHour)
        limit("per_day", old.limits.perDay, new.limits.perDay)
        limit("max_connections", old.maxConnections, new.maxConnections)
        limit("weight", old.weight, new.weight)
        if old.warmup != new.warmup { what.append("warmup") }
        if old.smtp != new.smtp { what.append("smtp \(old.smtp) -> \(new.smtp)") }
        if old.imap != new.imap { what.append("imap") }
        if old.address != new.address || old.sendAs != new.sendAs { what.append("addresses") }
        if old.username != new.username || old.credential != new.credential || old.caFile != new.caFile {
            what.append("credential")
        }
        return what
    }

    private static func userDifferences(_ old: UserConfig, _ new: UserConfig) -> [String] {
        var what: [String] = []
        if old.passwordHash != new.passwordHash { what.append("password") }
        if old.sendAs != new.sendAs { what.append("send_as") }
        if old.accounts != new.accounts { what.append("accounts \(old.accounts) -> \(new.accounts)") }
        if old.priority != new.priority || old.maxPriority != new.maxPriority { what.append("priority") }
        if old.imapAccount != new.imapAccount { what.append("imap_account") }
        return what
    }

    private static func text(_ value: Int?) -> String { value.map(String.init) ?? "none" }
}
