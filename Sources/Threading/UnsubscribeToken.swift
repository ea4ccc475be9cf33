// Signed one-click unsubscribe tokens (RFC 8058 links, RFC 2369 mailto): the
// token names the envelope sender and the recipient it unsubscribes, and an
// HMAC-SHA-256 over both under mailgate's key, so it cannot be forged nor
// replayed for another address or sender. Layout, then base64url unpadded:
// version 1 | sender length (1 byte) | sender | recipient | 32-byte MAC.
// Addresses are lower-cased when signed; no expiry (an unsubscribe link must keep working).

import MailCore

public struct UnsubscribeRequest: Sendable, Hashable {
    /// The envelope sender whose mail the recipient no longer wants (the suppression's scope).
    public var sender: String
    public var recipient: String

    public init(sender: String, recipient: String) {
        self.sender = sender
        self.recipient = recipient
    }
}

public enum UnsubscribeToken {
    static let version: UInt8 = 1
    static let macLength = 32
    /// Keeps these MACs apart from anything else the same key might ever sign.
    static let domainSeparator = Array("mailgate-unsubscribe\u{0}".utf8)
    /// Longest address either side (RFC 5321 path limit).
    static let maxAddressLength = 254

    /// The token for `recipient` unsubscribing from `sender`; nil when an address is empty, longer
    /// than 254 octets or holds a control character or space.
    public static func make(_ request: UnsubscribeRequest, key: [UInt8]) -> String? {
        let sender = Array(request.sender.lowercased().utf8)
        let recipient = Array(request.recipient.lowercased().utf8)
        guard plausible(sender), plausible(recipient) else { return nil }
        let payload = [version, UInt8(sender.count)] + sender + recipient
        let mac = HMACSHA256.authenticationCode(for: domainSeparator + payload, key: key)
        return String(decoding: Base64.encodeURL(payload + mac), as: UTF8.self)
    }

    /// The request a token stands for, or nil when it is not one mailgate signed with `key`.
    public static func verify(_ token: some Collection<UInt8>, key: [UInt8]) -> UnsubscribeRequest? {
        // The longest token that make() produces, in base64url characters.
        guard !key.isEmpty, token.count <= (2 + 2 * maxAddressLength + macLength) * 4 / 3 + 4,
              let bytes = Base64.decodeURL(token), bytes.count > 2 + macLength, bytes[0] == version else { return nil }
        let payload = Array(bytes[..<(bytes.count - macLength)])
        let mac = Array(bytes[(bytes.count - macLength)...])
        guard HMACSHA256.constantTimeEqual(HMACSHA256.authenticationCode(for: domainSeparator + payload, key: key), mac)
        else { return nil }
        let senderLength = Int(payload[1])
        guard payload.count >= 2 + senderLength else { return nil }
        let sender = Array(payload[2..<(2 + senderLength)])
        let recipient = Array(payload[(2 + senderLength)...])
        guard plausible(sender), plausible(recipient),
              let senderText = String(validating: sender, as: UTF8.self),
              let recipientText = String(validating: recipient, as: UTF8.self) else { return nil }
        return UnsubscribeRequest(sender: senderText, recipient: recipientText)
    }

    /// The subject line a mailto unsubscribe carries its token in (RFC 6068 `?subject=`).
    public static func mailtoSubject(_ token: String) -> String { "unsubscribe " + token }

    /// True for the addresses mailto unsubscribes go to: `unsubscribe@...` or `...+unsubscribe@...`.
    public static func isUnsubscribeAddress(_ address: String) -> Bool {
        guard let at = address.lastIndex(of: "@") else { return false }
        let local = address[..<at].lowercased()
        return local == "unsubscribe" || local.hasSuffix("+unsubscribe")
    }

    /// The request a mail sent to an unsubscribe address stands for: a word of its subject that
    /// verifies under `key` ("Re:" prefixes and other words are ignored); nil for any other mail.
    public static func request(inMailTo recipients: [String], subject: String, key: [UInt8]) -> UnsubscribeRequest? {
        guard recipients.contains(where: isUnsubscribeAddress) else { return nil }
        for word in subject.split(whereSeparator: { $0 == " " || $0 == "\t" }) where word.utf8.count > 40 {
            if let request = verify(Array(word.utf8), key: key) { return request }
        }
        return nil
    }

    private static func plausible(_ address: [UInt8]) -> Bool {
        !address.isEmpty && address.count <= maxAddressLength && address.contains(UInt8(ascii: "@"))
            && !address.contains { $0 <= 0x20 || $0 == 0x7F }
    }
}
