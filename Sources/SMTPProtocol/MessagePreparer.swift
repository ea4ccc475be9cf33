// End-of-data message processing for the service, pure: prepends Received: (RFC 5321 §4.4 with
// RFC 3848/6531 "with" types), adds Message-ID: when missing, removes every X-Mailgate-Priority:
// field and settles the priority class. Only header lines are added or removed: every other
// byte, the body above all, is copied unchanged. Date and randomness are passed in.

import MailCore

public struct ReceivedContext: Sendable {
    /// The peer's IP address as text ("192.0.2.7", "2001:db8::1").
    public var clientAddress: String
    /// Reverse-DNS name of the peer, if the service looked one up.
    public var clientHostname: String?
    /// E.g. "TLSv1.3" and "TLS_AES_256_GCM_SHA384" when the session was under TLS.
    public var tlsVersion: String?
    public var tlsCipher: String?

    public init(clientAddress: String, clientHostname: String? = nil, tlsVersion: String? = nil, tlsCipher: String? = nil) {
        self.clientAddress = clientAddress
        self.clientHostname = clientHostname
        self.tlsVersion = tlsVersion
        self.tlsCipher = tlsCipher
    }
}

public struct PreparedMessage: Sendable, Equatable {
    public var bytes: [UInt8]
    public var priority: MessagePriority
    /// The message's Message-ID (angle brackets included), found or added.
    public var messageID: String
    public var addedMessageID: Bool
}

public enum MessagePreparer {
    public static let priorityHeader = "x-mailgate-priority"

    /// Priority: the X-Mailgate-Priority header wins over MT-PRIORITY (it is mailgate's own,
    /// explicit request; MT-PRIORITY may be a library default); without either, the user's
    /// default. The result never exceeds the user's maximum.
    public static func settlePriority(user: SMTPUserIdentity, mtPriority: Int?,
                                      headerRequest: MessagePriority?) -> MessagePriority {
        let requested = headerRequest ?? mtPriority.map(MessagePriority.init(mtPriority:)) ?? user.defaultPriority
        return min(requested, user.maxPriority)
    }

    public static func prepare(_ message: [UInt8], envelope: SMTPEnvelope, context: ReceivedContext,
                               hostname: String, queueID: String, date: Int64,
                               random: inout some RandomNumberGenerator) -> PreparedMessage {
        let (fields, _) = MessageHeaders.fields(in: message)
        var headerRequest: MessagePriority?
        var removed: [Range<Int>] = []
        var existingMessageID: String?
        for field in fields {
            if field.name == priorityHeader {
                removed.append(field.range)
                if headerRequest == nil {
                    headerRequest = MessagePriority(name: String(decoding: MessageHeaders.unfoldedValue(field, in: message),
                                                                 as: UTF8.self))
                }
            } else if field.name == "message-id" {
                let value = String(decoding: MessageHeaders.unfoldedValue(field, in: message), as: UTF8.self)
                let trimmed = String(value.trimmingBlanks())
                if trimmed.isEmpty {
                    removed.append(field.range)  // an empty Message-ID is replaced, not kept beside ours
                } else if existingMessageID == nil {
                    existingMessageID = trimmed
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 512)
        out.append(contentsOf: receivedHeader(envelope: envelope, context: context, hostname: hostname,
                                              queueID: queueID, date: date).utf8)
        let messageID: String
        if let existingMessageID {
            messageID = existingMessageID
        } else {
            messageID = "<\(randomToken(&random))@\(hostname)>"
            out.append(contentsOf: "Message-ID: \(messageID)\r\n".utf8)
        }
        var copyFrom = 0
        for range in removed {
            out.append(contentsOf: message[copyFrom..<range.lowerBound])
            copyFrom = range.upperBound
        }
        out.append(contentsOf: message[copyFrom...])
        let priority = settlePriority(user: envelope.user, mtPriority: envelope.mtPriority, headerRequest: headerRequest)
        return PreparedMessage(bytes: out, priority: priority, messageID: messageID,
                               addedMessageID: existingMessageID == nil)
    }

    /// RFC 3848 / RFC 6531 §4.3 protocol type for the "with" clause.
    public static func protocolType(_ envelope: SMTPEnvelope) -> String {
        guard envelope.extendedHello else { return "SMTP" }
        let base = envelope.smtpUTF8 ? "UTF8SMTP" : "ESMTP"
        let suffix = (envelope.overTLS ? "S" : "") + (envelope.authenticated ? "A" : "")
        return base + suffix
    }

    public static func receivedHeader(envelope: SMTPEnvelope, context: ReceivedContext, hostname: String,
                                      queueID: String, date: Int64) -> String {
        receivedHeader(heloName: envelope.heloName, context: context, overTLS: envelope.overTLS,
                       authenticatedAs: envelope.authenticated ? envelope.user.name : nil, hostname: hostname,
                       protocolType: protocolType(envelope), queueID: queueID,
                       recipients: envelope.recipients.map(\.address), date: date)
    }

    /// The Received: line of a message taken in by the inbound listener (RFC 5321 §4.4).
    public static func receivedHeader(inbound envelope: SMTPInboundEnvelope, context: ReceivedContext, hostname: String,
                                      id: String, date: Int64) -> String {
        var type = "SMTP"
        if envelope.extendedHello { type = (envelope.smtpUTF8 ? "UTF8SMTP" : "ESMTP") + (envelope.overTLS ? "S" : "") }
        return receivedHeader(heloName: envelope.heloName, context: context, overTLS: envelope.overTLS,
                              authenticatedAs: nil, hostname: hostname, protocolType: type, queueID: id,
                              recipients: envelope.recipients, date: date)
    }

    static func receivedHeader(heloName: String, context: ReceivedContext, overTLS: Bool, authenticatedAs: String?,
                               hostname: String, protocolType: String, queueID: String, recipients: [MailboxAddress],
                               date: Int64) -> String {
        let peer = (context.clientHostname.map { sanitized($0) + " " } ?? "") + "[\(sanitized(context.clientAddress))]"
        var text = "Received: from \(sanitized(heloName.isEmpty ? "unknown" : heloName)) (\(peer))\r\n"
        if overTLS {
            let version = context.tlsVersion.map(sanitized) ?? "TLS"
            let cipher = context.tlsCipher.map { " with cipher \(sanitized($0))" } ?? ""
            text += "\t(using \(version)\(cipher))\r\n"
        }
        if let authenticatedAs {
            text += "\t(authenticated as \(sanitized(authenticatedAs)))\r\n"
        }
        text += "\tby \(hostname) (mailgate) with \(protocolType) id \(sanitized(queueID))"
        if recipients.count == 1, let only = recipients.first {
            text += "\r\n\tfor <\(only)>"
        }
        text += "; \(RFC3339.formatRFC5322(date))\r\n"
        return text
    }

    /// Keeps client-chosen text from breaking the header: printable ASCII without parentheses,
    /// backslashes, quotes or semicolons; anything else becomes "_". Capped at 255 characters.
    static func sanitized(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(255) {
            switch scalar.value {
            case 0x28, 0x29, 0x5C, 0x22, 0x3B: out.append("_")
            case 0x21...0x7E: out.unicodeScalars.append(scalar)
            default: out.append("_")
            }
        }
        return out
    }

    /// 26 characters of lower-case base32 from 128 random bits.
    static func randomToken(_ random: inout some RandomNumberGenerator) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var high = random.next() as UInt64
        var low = random.next() as UInt64
        var out = ""
        for _ in 0..<26 {
            out.append(alphabet[Int(low & 31)])
            low = (low >> 5) | ((high & 31) << 59)
            high >>= 5
        }
        return out
    }
}
