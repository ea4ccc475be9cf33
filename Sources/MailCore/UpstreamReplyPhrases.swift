// Lower-case phrases from real provider replies that say the account, not the message, failed:
// quota spent, sending suspended, rate limited, login refused. Matched as substrings of the
// lower-cased start of the reply text by UpstreamReplyClassifier.

/// Lower-case phrases from real provider replies. Matched as substrings of the lower-cased text.
enum UpstreamReplyPhrases {
    /// Replies longer than this are judged on their start (bounded work on hostile input).
    static let scannedLength = 4096

    static let quota = [
        "daily user sending limit",            // Gmail 550-5.4.5
        "daily sending quota",                 // Google Workspace 550 5.4.5
        "daily user sending quota",            // Office 365 550 5.4.5
        "daily message quota",                 // Amazon SES 454 Throttling failure
        "submissionquotaexceeded",             // Office 365 554 5.2.0 STOREDRV
        "refusequota",                         // Outlook.com WASCL verdict
        "exceeded the daily",                  // hosting panels
        "sending limit exceeded",
    ]

    /// Vaguer quota wording, believed only when the enhanced code does not name the recipient.
    static let genericQuota = [
        "sending quota",                       // "554 Sending quota exceeded for this account"
        "daily limit",                         // "550 Daily limit reached"
    ]

    static let suspension = [
        "sending suspended",                   // Amazon SES 554
        "sending paused",                      // Amazon SES 554
        "verdict is suspend",                  // Outlook.com WASCL
        "banned sender",                       // Office 365 550 5.7.511
        "account has been suspended",
        "account is suspended",
        "account has been disabled",
        "account is disabled",
        "account suspended",
        "account disabled",
        "traffic not accepted from this ip",   // Office 365 550 5.7.708 (tenant banned)
    ]

    static let rate = [
        "maximum sending rate exceeded",       // Amazon SES 454 Throttling failure
        "throttl",                             // SES, generic
        "rate limit",
        "ratelimit",
        "rate overlimit",                      // Exim ratelimit ACL
        "unusual rate",                        // Gmail 421-4.7.28 / 550-5.7.1
        "too many login attempts",             // Gmail 454 4.7.0
        "too many messages",
        "too much mail",                       // Postfix anvil 450 4.7.1
        "too many connections",                // Postfix anvil 421 4.7.0
        "too many concurrent",                 // Exim 421
        "exceeded the max emails per hour",    // cPanel Exim 550
        "unexpected volume",                   // Yahoo 421 4.7.0 [TSS04]
        "thread limit exceeded",               // Office 365 432 4.3.2 STOREDRV
        "server busy",                         // Office 365 451 4.7.500
        "rate-limit",
    ]

    static let authentication = [
        "authentication required",             // Gmail 530-5.7.0, SES 530
        "authentication unsuccessful",         // Office 365 535 5.7.3 / 5.7.139
        "client was not authenticated",        // Exchange 530 5.7.57 / 550 5.7.1
        "relay access denied",                 // Postfix 554 5.7.1
        "relaying denied",
        "relay not permitted",                 // Exim 550
    ]

    /// The start of `text`, ASCII lower-cased.
    static func lowercasedPrefix(_ text: String) -> String {
        String(decoding: text.utf8.prefix(scannedLength).map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
