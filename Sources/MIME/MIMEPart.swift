// The parsed shape of a message: a tree of parts, each with its headers, its
// raw body bytes (slices of the input, nothing copied or lost), its decoded
// body, children for multipart, an embedded message for message/rfc822 or
// message/global, and delivery-status groups. Defects record every repair.

public enum MIMEDefect: Sendable, Equatable {
    case missingHeaderBodySeparator
    case nonASCIIHeader
    case tooManyHeaderFields
    case invalidContentType(String)
    case missingBoundaryParameter
    case noBoundaryFound
    case missingFinalBoundary
    case invalidBase64
    case invalidQuotedPrintable
    case unknownOrInvalidCharset(String)
    case depthLimitReached
    case partLimitReached
}

public struct MIMEPart: Sendable {
    public var headers: Headers
    /// The content type as declared, or the RFC 2045/2046 default when absent or invalid.
    public var contentType: ContentType
    /// The header block exactly as received.
    public var rawHeader: ArraySlice<UInt8>
    /// The body exactly as received (still transfer-encoded).
    public var rawBody: ArraySlice<UInt8>
    /// The body after Content-Transfer-Encoding decoding.
    public var body: [UInt8]
    /// Sub-parts of a multipart.
    public var children: [MIMEPart]
    /// Bytes before the first boundary and after the closing one (multipart only).
    public var preamble: ArraySlice<UInt8>
    public var epilogue: ArraySlice<UInt8>
    /// The message inside message/rfc822, message/global (headers and body) or text/rfc822-headers (headers only).
    public var embedded: EmbeddedMessage?
    /// Field groups of message/delivery-status or message/global-delivery-status.
    public var deliveryStatus: DeliveryStatus?

    /// Depth-first walk over this part, its children and embedded messages.
    public func walk(_ visit: (MIMEPart) -> Void) {
        visit(self)
        for child in children { child.walk(visit) }
        embedded?.root.walk(visit)
    }

    /// All parts in depth-first order.
    public var allParts: [MIMEPart] {
        var parts: [MIMEPart] = []
        walk { parts.append($0) }
        return parts
    }

    /// Parts in depth-first order, not descending into embedded messages.
    public var ownParts: [MIMEPart] {
        var parts: [MIMEPart] = [self]
        for child in children { parts += child.ownParts }
        return parts
    }

    /// The decoded body as text in the declared charset.
    public var text: String { Charset.decode(body, charset: contentType.charset) }

    /// The attachment file name: Content-Disposition filename (RFC 2231 aware), then Content-Type name.
    public var filename: String? {
        if let disposition = headers.first("Content-Disposition") {
            let parsed = ContentDisposition.parse(disposition.rawValue)
            if let name = parsed.parameters["filename"], !name.isEmpty { return EncodedWords.decode(Array(name.utf8)) }
        }
        if let name = contentType.parameters["name"], !name.isEmpty { return EncodedWords.decode(Array(name.utf8)) }
        return nil
    }
}

/// An indirect box so a part can hold a message that holds parts.
public final class EmbeddedMessage: Sendable {
    public let root: MIMEPart
    init(root: MIMEPart) { self.root = root }
}

public struct MIMEMessage: Sendable {
    public let root: MIMEPart
    public let defects: [MIMEDefect]
    public var headers: Headers { root.headers }
}
