// Finds a retry hint in reply text: "try again in 10 minutes", "retry after 300 seconds",
// "please retry in 1 hour", "Retry-After: 120", "wait 30s", "try again in an hour".
// The first phrase with a number (or "a"/"an") wins; a number without a unit counts as seconds.
// Limits: English phrases only; numbers saturate at 7 days; "try again later" gives no hint.

public enum RetryHint {
    public static let maximum: Duration = .seconds(7 * 24 * 3600)

    private static let triggers: [[String]] = [
        ["try", "again", "in"], ["try", "again", "after"], ["retry", "in"], ["retry", "after"],
        ["wait"],
    ]
    private static let fillers: Set<String> = ["about", "approximately", "at", "least", "another", "the", "next"]

    public static func parse(_ text: String) -> Duration? {
        let tokens = tokenize(text)
        var index = 0
        while index < tokens.count {
            for trigger in triggers where matches(trigger, in: tokens, at: index) {
                if let duration = quantity(in: tokens, from: index + trigger.count) { return duration }
            }
            index += 1
        }
        return nil
    }

    private static func matches(_ trigger: [String], in tokens: [String], at index: Int) -> Bool {
        guard index + trigger.count <= tokens.count else { return false }
        return zip(trigger, tokens[index...]).allSatisfy { $0 == $1 }
    }

    /// A number (or "a"/"an") and an optional unit, after optional filler words.
    private static func quantity(in tokens: [String], from start: Int) -> Duration? {
        var index = start
        while index < tokens.count, fillers.contains(tokens[index]) { index += 1 }
        guard index < tokens.count else { return nil }
        let amount: Int
        if tokens[index] == "a" || tokens[index] == "an" {
            amount = 1
        } else if let number = saturatingDecimal(tokens[index]) {
            amount = number
        } else {
            return nil
        }
        let unit = index + 1 < tokens.count ? unitSeconds(tokens[index + 1]) : nil
        if unit == nil && (tokens[index] == "a" || tokens[index] == "an") { return nil }
        let seconds = amount.multipliedReportingOverflow(by: unit ?? 1)
        guard !seconds.overflow else { return maximum }
        return min(.seconds(seconds.partialValue), maximum)
    }

    /// Digits only (the tokenizer's digit runs); values above 10,000,000 read as 10,000,000.
    private static func saturatingDecimal(_ token: String) -> Int? {
        let limit = 10_000_000
        var result = 0
        for byte in token.utf8 {
            guard (0x30...0x39).contains(byte) else { return nil }
            result = min(limit, result * 10 + Int(byte - 0x30))
        }
        return token.isEmpty ? nil : result
    }

    private static func unitSeconds(_ word: String) -> Int? {
        switch word {
        case "s", "sec", "secs", "second", "seconds": 1
        case "m", "min", "mins", "minute", "minutes": 60
        case "h", "hr", "hrs", "hour", "hours": 3600
        case "d", "day", "days": 86400
        default: nil
        }
    }

    /// Lower-cased runs of letters or of digits ("300s" gives "300", "s"); other characters split.
    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current: [UInt8] = []
        var currentIsDigit = false
        for byte in text.utf8.prefix(4096) {
            let lowered = (0x41...0x5A).contains(byte) ? byte + 0x20 : byte
            let isDigit = (0x30...0x39).contains(lowered)
            let isLetter = (0x61...0x7A).contains(lowered)
            if (isDigit || isLetter), current.isEmpty || isDigit == currentIsDigit {
                current.append(lowered)
                currentIsDigit = isDigit
                continue
            }
            if !current.isEmpty { tokens.append(String(decoding: current, as: UTF8.self)) }
            current = isDigit || isLetter ? [lowered] : []
            currentIsDigit = isDigit
        }
        if !current.isEmpty { tokens.append(String(decoding: current, as: UTF8.self)) }
        return tokens
    }
}
