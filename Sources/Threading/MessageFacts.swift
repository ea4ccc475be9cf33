// What ingestion stores about one message, computed from its bytes alone:
// ids for threading, the normalised subject, the Date, participants, snippet,
// attachments, a body digest for de-duplication and the header list as JSON.
// Total: any bytes give facts (empty ones for junk); every text is cleaned
// for PostgreSQL (no NUL) and bounded.
import MailCore
import MIME

public struct MessageFacts: Sendable {
    /// Message-ID without brackets.
    public var messageID: String?
    public var inReplyTo: String?
    /// References as written, oldest first.
    public var references: [String]
    /// The decoded Subject ("" when absent), cleaned and cut at 1,000 characters.
    public var subject: String
    public var normalisedSubject: NormalisedSubject
    /// The Date header as Unix seconds, when it parses.
    public var date: Int64?
    public var participants: [Participant]
    public var snippet: String
    public var attachments: [Attachment]
    /// SHA-256 of the body (after the header block) with line ends made CRLF and trailing ones removed,
    /// so the same message read from a file, IMAP or our queue gives the same digest.
    public var bodySHA256: String
    /// [{"name": ..., "value": ...}, ...] in header order, values with encoded words decoded.
    public var headersJSON: String
    /// Ids that may name a stored message of the same conversation, nearest first:
    /// In-Reply-To, References newest first, then the message's own Message-ID.
    public var threadKeys: [String]
    /// Our queue ids found in returned content (bounces), see MailgateTrace.
    public var mailgateQueueIDs: [String]
    /// The parser's repairs, for logs.
    public var defects: [MIMEDefect]
}

public enum MessageAnalysis {
    static let maxHeaderFields = 1_000
    static let maxHeaderValue = 16 * 1024

    public static func facts(_ raw: [UInt8]) -> MessageFacts { facts(MIMEParser.parse(raw)) }

    public static func facts(_ message: MIMEMessage) -> MessageFacts {
        let headers = message.headers
        let messageID = headers.first("Message-ID").flatMap { MessageIDs.first($0.value) }
        let inReplyTo = headers.first("In-Reply-To").flatMap { MessageIDs.first($0.value) }
        let references = MessageIDs.list(headers.all("References").map(\.value).joined(separator: " "))
        let subject = StoredText.clean(headers.first("Subject")?.decodedValue ?? "", limit: SubjectNormaliser.maxLength)
        return MessageFacts(
            messageID: messageID, inReplyTo: inReplyTo, references: references, subject: subject,
            normalisedSubject: SubjectNormaliser.normalise(subject),
            date: headers.first("Date").flatMap { MessageDate.parse($0.value) },
            participants: Participants.of(headers), snippet: Snippet.of(message),
            attachments: Attachments.of(message), bodySHA256: SHA256.hex(canonicalBody(message.root.rawBody)),
            headersJSON: headersJSON(headers),
            threadKeys: threadKeys(inReplyTo: inReplyTo, references: references, messageID: messageID),
            mailgateQueueIDs: MailgateTrace.queueIDs(in: message), defects: message.defects)
    }

    public static func threadKeys(inReplyTo: String?, references: [String], messageID: String?) -> [String] {
        var keys: [String] = []
        for key in [inReplyTo].compactMap({ $0 }) + references.reversed() + [messageID].compactMap({ $0 })
        where !keys.contains(key) {
            keys.append(key)
        }
        return keys
    }

    /// Line ends made CRLF (bare LF and bare CR alike), trailing line ends dropped.
    static func canonicalBody(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + body.count / 32)
        var index = body.startIndex
        while index < body.endIndex {
            let byte = body[index]
            if byte == 13 {
                out += [13, 10]
                if index + 1 < body.endIndex, body[index + 1] == 10 { index += 1 }
            } else if byte == 10 {
                out += [13, 10]
            } else {
                out.append(byte)
            }
            index += 1
        }
        while let last = out.last, last == 13 || last == 10 { out.removeLast() }
        return out
    }

    static func headersJSON(_ headers: Headers) -> String {
        let members = headers.fields.prefix(maxHeaderFields).map { field in
            "{\"name\":\(JSONText.string(StoredText.clean(field.name, limit: 200)))," +
                "\"value\":\(JSONText.string(StoredText.clean(field.decodedValue, limit: maxHeaderValue, keepLineBreaks: true)))}"
        }
        return "[" + members.joined(separator: ",") + "]"
    }
}
