// RFC 3464 message/delivery-status bodies: a per-message field group, then
// one group per recipient, groups separated by blank lines. Tolerates groups
// run together (a new Final-Recipient starts a new recipient) and a missing
// per-message group. Values like "rfc822; user@host" are split by `typedValue`.

public struct DeliveryStatus: Sendable, Equatable {
    public var perMessage: Headers
    public var recipients: [Headers]

    public static func parse(_ bytes: ArraySlice<UInt8>) -> DeliveryStatus {
        var groups: [Headers] = []
        var index = bytes.startIndex
        while index < bytes.endIndex, groups.count < 10_000 {
            guard let line = bytes.line(at: index) else { break }
            if bytes[line.start..<line.contentEnd].allSatisfy(ASCII.isWhitespace) { index = line.next; continue }
            let block = HeaderParser.parse(bytes[index...])
            if !block.headers.fields.isEmpty { groups.append(block.headers) }
            index = block.bodyStart > line.start ? block.bodyStart : line.next
        }
        var perMessage = Headers()
        var recipients: [Headers] = []
        for (number, group) in groups.enumerated() {
            var current = Headers()
            for field in group.fields {
                let name = field.name.lowercased()
                let startsRecipient = name == "final-recipient" || name == "original-recipient"
                if startsRecipient, current.fields.contains(where: { $0.name.lowercased() == name }) {
                    recipients.append(current)
                    current = Headers()
                }
                current.fields.append(field)
            }
            let isRecipient = current.contains("Final-Recipient") || current.contains("Original-Recipient")
                || current.contains("Action") || current.contains("Status")
            if number == 0, !isRecipient {
                perMessage = current
            } else if isRecipient {
                recipients.append(current)
            } else {
                perMessage.fields += current.fields
            }
        }
        return DeliveryStatus(perMessage: perMessage, recipients: recipients)
    }

    /// "rfc822; user@example.com" -> ("rfc822", "user@example.com"); without ';' the type is nil.
    public static func typedValue(_ value: String) -> (type: String?, value: String) {
        guard let semicolon = value.firstIndex(of: ";") else { return (nil, value.trimmingCharacters(in: .whitespaces)) }
        let type = value[..<semicolon].trimmingCharacters(in: .whitespaces).lowercased()
        let rest = value[value.index(after: semicolon)...].trimmingCharacters(in: .whitespaces)
        return (type, rest)
    }
}
