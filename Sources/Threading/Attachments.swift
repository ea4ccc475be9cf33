// Attachments of a message as stored: every leaf part that is not the
// readable body (a disposition of "attachment", a file name, or a type other
// than text/plain and text/html: images, PDFs, message/rfc822 returned mail,
// delivery-status reports), with its decoded bytes and their SHA-256, so equal
// files are stored once. Parts inside an attached message are not unpacked.
import MIME

public struct Attachment: Sendable, Equatable {
    /// 64 lower-case hex digits.
    public var sha256: String
    public var content: [UInt8]
    public var contentType: String
    public var filename: String?

    public init(sha256: String, content: [UInt8], contentType: String, filename: String?) {
        self.sha256 = sha256
        self.content = content
        self.contentType = contentType
        self.filename = filename
    }
}

public enum Attachments {
    public static let maxCount = 500

    public static func of(_ message: MIMEMessage) -> [Attachment] {
        var out: [Attachment] = []
        for part in message.root.ownParts {
            guard out.count < maxCount, !part.contentType.isMultipart, isAttachment(part) else { continue }
            out.append(Attachment(sha256: SHA256.hex(part.body), content: part.body,
                                  contentType: StoredText.clean(part.contentType.mimeType, limit: 255),
                                  filename: part.filename.map { StoredText.clean($0, limit: 255) }.flatMap { $0.isEmpty ? nil : $0 }))
        }
        return out
    }

    /// Whether a leaf part is an attachment rather than the message's readable text.
    public static func isAttachment(_ part: MIMEPart) -> Bool {
        if let disposition = part.headers.first("Content-Disposition"),
           ContentDisposition.parse(disposition.rawValue).kind == "attachment" {
            return true
        }
        if part.filename != nil { return true }
        switch part.contentType.mimeType {
        case "text/plain", "text/html": return false
        default: return !part.contentType.isMultipart
        }
    }
}
