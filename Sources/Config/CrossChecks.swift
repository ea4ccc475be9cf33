// Checks that span sections, run once every entry is read: unique account, user and webhook
// names, references to accounts and users that exist, one listener per
// address, [tls] present when TLS listeners need it, and the secret files'
// existence and modes (through SecretFileChecking).

struct CrossChecks {
    let sink: ErrorSink

    func run(_ config: MailgateConfig) {
        let accountIndex = uniqueNames(config.accounts.map(\.name), section: "account")
        let userIndex = uniqueNames(config.users.map(\.name), section: "user")
        _ = uniqueNames(config.webhooks.map(\.name), section: "webhook")
        checkUsers(config, accountIndex: accountIndex)
        if let trusted = config.submission.trustedUser, userIndex[trusted] == nil {
            sink.report("submission.trusted_user", "no [[user]] is named \"\(trusted)\"\(known(userIndex))")
        }
        checkListeners(config)
        let needsTLS = !(config.submission.listen + config.submission.listenTLS
            + config.imap.listen + config.imap.listenTLS).isEmpty
        if needsTLS && config.tls == nil {
            sink.report("tls", "missing table [tls] with certificate and private_key "
                + "(submission and IMAP listeners offer AUTH and LOGIN only after TLS)")
        }
    }

    /// Name -> first index; a repeated name is reported at its later occurrence.
    func uniqueNames(_ names: [String], section: String) -> [String: Int] {
        var firstIndex: [String: Int] = [:]
        for (index, name) in names.enumerated() where !name.isEmpty {
            if let first = firstIndex[name] {
                let firstLine = sink.lines.line(of: ConfigKeyPath([.key(section), .index(first), .key("name")]))
                let place = firstLine.map { " (first defined at line \($0))" } ?? ""
                sink.report(ConfigKeyPath([.key(section), .index(index), .key("name")]),
                            "duplicate \(section) name \"\(name)\"\(place)")
            } else {
                firstIndex[name] = index
            }
        }
        return firstIndex
    }

    func checkUsers(_ config: MailgateConfig, accountIndex: [String: Int]) {
        for (userNumber, user) in config.users.enumerated() {
            let userPath = ConfigKeyPath([.key("user"), .index(userNumber)])
            var seen: Set<String> = []
            for (position, accountName) in user.accounts.enumerated() {
                let at = userPath.appending("accounts").appending(index: position)
                if accountIndex[accountName] == nil {
                    sink.report(at, "no [[account]] is named \"\(accountName)\"\(known(accountIndex))")
                } else if !seen.insert(accountName).inserted {
                    sink.report(at, "account \"\(accountName)\" is listed twice")
                }
            }
            if let imapAccount = user.imapAccount {
                let at = userPath.appending("imap_account")
                if let index = accountIndex[imapAccount] {
                    if config.accounts[index].imap == nil {
                        sink.report(at, "account \"\(imapAccount)\" has no imap URL")
                    }
                } else {
                    sink.report(at, "no [[account]] is named \"\(imapAccount)\"\(known(accountIndex))")
                }
            }
        }
    }

    func known(_ index: [String: Int]) -> String {
        index.isEmpty ? " (none are defined)" : " (defined: " + index.keys.sorted().joined(separator: ", ") + ")"
    }

    func checkListeners(_ config: MailgateConfig) {
        var owners: [SocketAddressSpec: ConfigKeyPath] = [:]
        func claim(_ list: [SocketAddressSpec], _ path: ConfigKeyPath) {
            for (index, address) in list.enumerated() {
                let at = path.appending(index: index)
                if let owner = owners[address] {
                    sink.report(at, "\(address) is already used by \(owner)")
                } else {
                    owners[address] = at
                }
            }
        }
        claim(config.submission.listen, "submission.listen")
        claim(config.submission.listenTLS, "submission.listen_tls")
        claim(config.imap.listen, "imap.listen")
        claim(config.imap.listenTLS, "imap.listen_tls")
        claim(config.inbound.listen, "inbound.listen")
        for (address, path) in [(config.metrics?.listen, "metrics.listen"),
                                (config.unsubscribe?.listen, "unsubscribe.listen")] {
            guard let address else { continue }
            if let owner = owners[address] {
                sink.report(ConfigKeyPath(stringLiteral: path), "\(address) is already used by \(owner)")
            } else {
                owners[address] = ConfigKeyPath(stringLiteral: path)
            }
        }
    }

    func checkSecrets(_ secrets: [SecretReference], with checker: any SecretFileChecking) {
        for secret in secrets {
            let status = checker.status(ofSecretAt: secret.path)
            if status == .missing && secret.mayBeMissing { continue }
            if let problem = status.problem(path: secret.path) {
                sink.report(secret.key, problem)
            }
        }
    }
}
