// What an upstream server offers, read from its EHLO reply (RFC 5321 §4.1.1.1): every line after
// the first is "KEYWORD [params]". Keywords are case-insensitive; unknown ones are ignored.
// Also reads the pre-RFC "AUTH=PLAIN LOGIN" form some servers still send beside AUTH.

public struct SMTPServerCapabilities: Sendable, Hashable {
    public var pipelining = false
    public var startTLS = false
    /// RFC 1870 SIZE: nil when not offered; 0 when offered without a (fixed) limit.
    public var size: Int?
    public var eightBitMIME = false
    public var smtpUTF8 = false
    public var dsn = false
    public var chunking = false
    public var enhancedStatusCodes = false
    /// Upper-cased SASL mechanism names.
    public var authMechanisms: Set<String> = []

    public init() {}

    /// A message of `octets` octets exceeds the advertised fixed limit.
    public func refusesSize(_ octets: Int) -> Bool {
        guard let size, size > 0 else { return false }
        return octets > size
    }

    public init(ehlo reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { continue }
            let keyword = first.uppercased()
            let parameters = words.dropFirst().map { $0.uppercased() }
            switch keyword {
            case "PIPELINING": pipelining = true
            case "STARTTLS": startTLS = true
            case "8BITMIME": eightBitMIME = true
            case "SMTPUTF8": smtpUTF8 = true
            case "DSN": dsn = true
            case "CHUNKING": chunking = true
            case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
            case "SIZE":
                let value = parameters.first.map { ESMTPParameters.decimal(Array($0.utf8)[...], saturatingAt: Int.max) }
                size = value.flatMap { $0 } ?? 0
            case "AUTH":
                authMechanisms.formUnion(parameters)
            default:
                if keyword.hasPrefix("AUTH=") {
                    authMechanisms.insert(String(keyword.dropFirst(5)))
                    authMechanisms.formUnion(parameters)
                }
            }
        }
        authMechanisms.remove("")
    }
}
