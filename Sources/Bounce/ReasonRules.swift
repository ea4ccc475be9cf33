// Maps an RFC 3463 status and a diagnostic text to a reason, and a reason to
// hard/soft. Text rules are phrase lists drawn from RFC 3463/7505/7372 and
// published MTA messages (Postfix, Exim, Sendmail, Exchange, Gmail, Yahoo...);
// the first matching rule wins, so sender-side and list-based rejections come
// before the address rules whose words they share.
import Foundation

enum ReasonRules {
    /// Precise statuses decide unless the text names a reason that cannot be an address problem;
    /// then the text, then the status class. The SMTP command in the text adjusts the result:
    /// "user unknown" after DATA means the address was accepted and content was refused
    /// (Japanese carriers answer filtered mail that way); a refusal after MAIL FROM is about the sender.
    static func reason(status: String?, diagnostic: String, action: DeliveryAction?, context: String = "") -> BounceReason {
        switch action {
        case .delivered, .relayed, .expanded: return .delivered
        case .failed, .delayed, .none: break
        }
        let code = status.flatMap(StatusCode.init)
        let textual = textReason(diagnostic)
        var chosen: BounceReason
        if let code, let precise = preciseReason(code) {
            chosen = precise
            if let textual, overridesStatus.contains(textual) { chosen = textual }
        } else if let textual {
            chosen = textual
        } else if let code, let general = generalReason(code) {
            chosen = general
        } else {
            chosen = action == .delayed ? .expired : .undefined
        }
        // A temporary (4.x.x) network or system error reported as a final failure: the MTA gave up retrying.
        if action == .failed, code?.klass == 4, [.networkError, .systemError, .undefined].contains(chosen) {
            chosen = .expired
        }
        switch SMTPCommandScan.failedCommand(diagnostic) ?? SMTPCommandScan.failedCommand(context) {
        case .data where chosen == .userUnknown:
            chosen = .filtered
        case .mailFrom where [.userUnknown, .hostUnknown, .undefined, .syntaxError].contains(chosen):
            chosen = .rejected
        case .data, .mailFrom, .rcptTo, .none:
            break
        }
        return chosen
    }

    /// Text reasons that no status code should hide: a full mailbox or a block list is never "user unknown".
    static let overridesStatus: Set<BounceReason> = [.mailboxFull, .tooManyConn, .speeding, .blocked, .badReputation,
                                                     .virusDetected, .spamDetected, .notAccept, .mailerError]

    static func kind(for reason: BounceReason, status: String?) -> BounceKind? {
        switch reason {
        case .userUnknown, .hostUnknown, .hasMoved:
            return .hard
        case .notAccept:
            // Null MX (RFC 7505) is permanent; a temporary refusal is not.
            return status?.hasPrefix("4") == true ? .soft : .hard
        case .delivered, .feedback, .vacation:
            return nil
        case .mailboxFull, .mesgTooBig, .exceedLimit, .suspend, .filtered, .blocked, .spamDetected, .virusDetected,
             .policyViolation, .rejected, .expired, .noRelaying, .securityError, .systemError, .systemFull,
             .tooManyConn, .networkError, .contentError, .mailerError, .syntaxError, .badReputation, .authFailure,
             .speeding, .onHold, .undefined:
            return .soft
        }
    }

    /// Codes whose meaning is specific enough to trust over wording.
    static func preciseReason(_ code: StatusCode) -> BounceReason? {
        switch (code.subject, code.detail) {
        case (1, 1), (1, 3), (1, 4): return code.klass == 5 ? .userUnknown : nil
        case (1, 2): return .hostUnknown
        case (1, 6), (7, 17), (7, 18): return .hasMoved
        case (1, 10): return .notAccept
        case (2, 2): return .mailboxFull
        case (3, 4): return .mesgTooBig
        case (4, 7): return .expired
        case (7, 27): return .rejected   // the sender's own domain has a null MX: nothing wrong with the recipient
        default: return nil
        }
    }

    /// RFC 3463 meaning of the remaining codes, used when the text says nothing known.
    static func generalReason(_ code: StatusCode) -> BounceReason? {
        switch (code.subject, code.detail) {
        case (0, _): return nil
        case (1, 0): return code.klass == 5 ? .userUnknown : nil
        case (1, 5): return .delivered
        case (1, 7), (1, 8): return .rejected
        case (1, _): return .userUnknown
        case (2, 1): return .suspend
        case (2, 3): return .exceedLimit
        case (2, 4): return .systemError
        case (2, _): return .filtered
        case (3, 1): return .systemFull
        case (3, 2): return .notAccept
        case (3, _): return .systemError
        case (4, 3): return .systemError
        case (4, 4): return .hostUnknown
        case (4, 5): return .tooManyConn
        case (4, _): return .networkError
        case (5, 3): return .exceedLimit
        case (5, _): return .syntaxError
        case (6, _): return .contentError
        case (7, 1): return .policyViolation
        case (7, 2), (7, 15): return .policyViolation
        case (7, 13): return .suspend
        case (7, 16): return .mesgTooBig
        case (7, 20), (7, 21), (7, 22), (7, 23), (7, 24), (7, 26), (7, 29): return .authFailure
        case (7, 25): return .blocked
        case (7, 28): return .speeding
        case (7, _): return .securityError
        default: return nil
        }
    }

    /// The first rule whose phrase occurs in the lower-cased, space-collapsed text.
    static func textReason(_ diagnostic: String) -> BounceReason? {
        let text = normalise(diagnostic)
        guard !text.isEmpty else { return nil }
        for (reason, phrases) in textRules where phrases.contains(where: { text.contains($0) }) {
            return reason
        }
        return nil
    }

    static func normalise(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .joined(separator: " ")
    }

    static let textRules: [(BounceReason, [String])] = [
        (.userUnknown, ["recipient address rejected: access denied", "address couldn't be found",
                        "address could not be found", "couldn't be found", "user doesn't have", "user does not have",
                        "user not exist"]),
        (.notAccept, ["does not accept mail", "does not accept email", "not accepting mail", "accepts no mail",
                      "null mx", "no mail accepted", "indicated no smtp service", "no smtp service"]),
        (.mailerError, ["mailer error", "command failed", "exit code", "pipe to", "procmail", "command died",
                        "unknown mailer", "x-unix", "deliver to command"]),
        (.rejected, ["sender address rejected", "sender rejected", "sender was rejected", "sender verify failed", "domain of sender address",
                     "sender domain must", "sender is not allowed", "sender not allowed", "invalid sender", "bad sender",
                     "sender denied", "not a member of", "you are not a member", "permission to post",
                     "not allowed to post", "envelope sender", "mail from address", "return path", "return-path"]),
        (.virusDetected, ["virus", "malware", "infected"]),
        (.badReputation, ["poor reputation", "bad reputation", "low reputation", "reputation of", "sender reputation",
                          "ip reputation"]),
        (.noRelaying, ["relay access denied", "relaying denied", "relay denied", "not permitted to relay",
                       "relay not permitted", "unable to relay", "relaying not allowed", "do not relay",
                       "relay prohibited", "relaying prohibited", "no relaying", "we do not relay",
                       "not allowed to relay", "relaying to", "cannot relay", "relay not allowed"]),
        (.tooManyConn, ["too many connections", "too many concurrent", "too many sessions", "connection limit",
                        "too many simultaneous", "too many smtp sessions", "throttl"]),
        (.blocked, ["blacklist", "blocklist", "block list", "black list", "dnsbl", "spamhaus", "spamcop", "sorbs",
                    "barracuda", "client host rejected", "refused to talk to me", "reverse dns", "ptr record",
                    "rdns", "your ip", "my name was rejected", "helo", "ip address is", "connection refused by", "banned", "not allowed to send mail",
                    "listed at", "listed in", "access denied", "blocked"]),
        (.spamDetected, ["spam", "junk mail", "unsolicited", "bulk mail", "bulk e-mail", "message content rejected"]),
        (.mailboxFull, ["mailbox full", "mailbox is full", "mailbox is over", "box is full", "mailfolder is full",
                        "full mailbox", "over quota", "overquota", "quota exceeded", "exceeded quota", "exceed the quota",
                        "exceeds the quota", "storage quota", "quota limit", "disk quota", "mailbox exceeded",
                        "mailbox has exceeded", "exceeded storage", "exceeds storage", "storage allocation",
                        "mailbox size limit", "exceeded the local limit", "mailbox would exceed", "has exceeded their",
                        "user's mailbox", "not enough space", "out of storage", "mailbox is at its limit",
                        "inbox is full", "insufficient storage"]),
        (.mesgTooBig, ["message too large", "message is too large", "message too big", "message is too big",
                       "message size exceeds", "message exceeds", "size limit", "too big for", "exceeds the maximum",
                       "message length exceeds", "mail size", "message size", "size exceeded", "exceeds size"]),
        (.suspend, ["suspended", "account disabled", "mailbox disabled", "is disabled", "been disabled",
                    "account is inactive", "mailbox is inactive", "inactive account", "deactivated", "account expired",
                    "is not active", "not activated", "account has been locked", "mailbox is locked", "is frozen",
                    "temporarily disabled", "mailbox unavailable or disabled"]),
        (.hasMoved, ["has moved", "has been moved", "address has changed", "no longer at this address",
                     "is no longer valid. please use", "new address"]),
        (.hostUnknown, ["host unknown", "unknown host", "host not found", "domain not found", "no such domain",
                        "domain does not exist", "domain doesn't exist", "unrouteable mail domain",
                        "unroutable mail domain", "unknown domain", "name or service not known", "nxdomain",
                        "no mx record", "mx record", "dns error", "domain name not found", "illegal host",
                        "invalid domain", "domain is invalid", "bad destination system", "no such host",
                        "host or domain name not found", "hostname lookup failed", "domain not exist",
                        "domain is not reachable"]),
        (.userUnknown, ["user unknown", "unknown user", "no such user", "no such mailbox", "no such recipient",
                        "no such account", "no such person", "nosuchuser", "mailbox not found", "mailbox unavailable",
                        "mailbox does not exist", "mailbox doesn't exist", "user does not exist", "user doesn't exist",
                        "address does not exist", "address doesn't exist", "account does not exist",
                        "account doesn't exist", "recipient does not exist", "does not exist", "doesn't exist",
                        "invalid recipient", "invalid mailbox", "invalid address", "invalid user", "unknown address",
                        "address unknown", "unknown recipient", "recipient unknown", "recipient not found",
                        "user not found", "address not found", "account not found", "unrouteable address",
                        "unroutable address", "no mailbox", "no mail box", "not a valid user", "is not a valid mailbox",
                        "bad recipient", "unknown local part", "invalid final delivery userid", "not recognized",
                        "not recognised", "does not have a mailbox", "not our customer", "unknown or illegal alias",
                        "is not a known user", "no such local user", "user invalid", "undeliverable address", "no valid recipients",
                        "mailbox not available", "email account that you tried to reach", "not listed in"]),
        (.speeding, ["too many recipients this", "sent to too many recipients", "too many messages", "sending rate", "rate exceeded", "rate limit", "exceeded the rate"]),
        (.authFailure, ["dmarc", "spf", "dkim", "unauthenticated email", "sender policy framework"]),
        (.securityError, ["authentication required", "tls required", "encryption required", "starttls",
                          "secure connection", "certificate", "must be authenticated", "authentication failed",
                          "not authenticated", "authentication is required"]),
        (.policyViolation, ["policy", "not authorized", "prohibited", "header error", "is not allowed"]),
        (.filtered, ["filtered", "filter", "refused"]),
        (.expired, ["retry timeout exceeded", "retry time not reached", "expired", "timeout exceeded",
                    "could not be delivered within", "has not been delivered", "has been delayed",
                    "delivery is delayed", "delivery has been delayed", "giving up", "gave up", "too long",
                    "will keep trying", "will continue trying", "will retry", "unable to deliver for",
                    "could not be delivered for", "undelivered for", "message is delayed", "not yet been delivered"]),
        (.networkError, ["connection timed out", "timed out", "no route to host", "connection refused",
                         "could not connect", "unable to connect", "host unreachable", "network is unreachable",
                         "lost connection", "connection reset", "connection closed", "mail loop", "loops back",
                         "routing loop", "too many hops", "hop count", "loop detected", "network error",
                         "name server", "dns lookup", "temporary lookup failure"]),
        (.systemFull, ["insufficient system storage", "system storage", "disk full", "out of disk", "no space left"]),
        (.mailerError, ["permission denied"]),
        (.systemError, ["system error", "internal error", "server error", "local error", "temporarily unavailable",
                        "service unavailable", "system failure", "configuration error", "system not available",
                        "internal system error", "resources temporarily", "try again later"]),
        (.syntaxError, ["syntax error", "command unrecognized", "command not recognized", "bad command",
                        "bad sequence", "line too long", "unrecognized command"]),
        (.contentError, ["content", "mime", "attachment", "illegal header", "8bit"]),
    ]
}

/// A parsed RFC 3463 code "class.subject.detail".
struct StatusCode: Equatable {
    let klass: Int
    let subject: Int
    let detail: Int

    init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 3, parts.allSatisfy({ $0.count <= 3 && !$0.isEmpty }),
              let klass = Int(parts[0]), let subject = Int(parts[1]), let detail = Int(parts[2]),
              [2, 4, 5].contains(klass) else { return nil }
        self.klass = klass
        self.subject = subject
        self.detail = detail
    }

    var text: String { "\(klass).\(subject).\(detail)" }
    var isGeneric: Bool { subject == 0 && detail == 0 }
}

enum SMTPCommand {
    case mailFrom
    case rcptTo
    case data
}

enum SMTPCommandScan {
    /// The SMTP command a failure answered, as MTAs state it ("after RCPT TO", "in reply to end of DATA
    /// command", a Sendmail transcript's last ">>> " line, m-FILTER's "SMTP command" section).
    static func failedCommand(_ text: String) -> SMTPCommand? {
        let lower = ReasonRules.normalise(text)
        let phrases: [(String, SMTPCommand)] = [
            ("after end of data", .data), ("in reply to end of data command", .data), ("in reply to data command", .data),
            ("after data", .data), ("smtp command data", .data), ("-------smtp command data", .data),
            ("after rcpt to", .rcptTo), ("in reply to rcpt to command", .rcptTo),
            ("after mail from", .mailFrom), ("in reply to mail from command", .mailFrom),
        ]
        var best: (index: String.Index, command: SMTPCommand)?
        for (phrase, command) in phrases {
            if let range = lower.range(of: phrase), range.lowerBound > (best?.index ?? lower.startIndex) || best == nil {
                best = (range.lowerBound, command)
            }
        }
        // Sendmail transcripts: the command sent just before the first 4xx/5xx answer.
        let firstError = [lower.range(of: "<<< 5"), lower.range(of: "<<< 4")].compactMap { $0?.lowerBound }.min()
        let searchEnd = firstError ?? lower.endIndex
        if let transcript = lower.range(of: ">>> ", options: .backwards, range: lower.startIndex..<searchEnd) {
            let rest = lower[transcript.upperBound...]
            var command: SMTPCommand? = rest.hasPrefix("data") ? .data : rest.hasPrefix("rcpt") ? .rcptTo
                : rest.hasPrefix("mail") ? .mailFrom : nil
            // With PIPELINING the RCPT answer arrives after DATA was sent; a later "503 need RCPT"
            // or "no valid recipients" shows that the error answered RCPT, not DATA.
            if command == .data, ["<<< 503", "need rcpt", "no valid recipients"].contains(where: { lower.contains($0) }) {
                command = .rcptTo
            }
            if let command, best == nil || transcript.lowerBound > (best?.index ?? lower.startIndex) {
                best = (transcript.lowerBound, command)
            }
        }
        return best?.command
    }
}
