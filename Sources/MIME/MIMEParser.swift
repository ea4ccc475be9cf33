// Parses raw message bytes into a MIMEPart tree. Tolerant by design: missing
// final boundaries, absent blank lines, bad base64 and unknown charsets are
// repaired and listed as defects; raw bytes stay reachable through slices.
// Recursion is bounded by MIMELimits.maxDepth and the part count by maxParts;
// past a limit the remaining bytes stay in the enclosing part's raw body.

public struct MIMELimits: Sendable {
    public var maxDepth: Int
    public var maxParts: Int
    public init(maxDepth: Int = 24, maxParts: Int = 2_000) {
        self.maxDepth = maxDepth
        self.maxParts = maxParts
    }
}

public enum MIMEParser {
    public static func parse(_ bytes: [UInt8], limits: MIMELimits = MIMELimits()) -> MIMEMessage {
        var state = State(limits: limits)
        let root = parsePart(bytes[...], defaultType: .textPlain, depth: 0, state: &state)
        return MIMEMessage(root: root, defects: state.defects)
    }

    struct State {
        let limits: MIMELimits
        var defects: [MIMEDefect] = []
        var partCount = 0
        var reportedDepth = false
        var reportedParts = false
        init(limits: MIMELimits) { self.limits = limits }
    }

    static func parsePart(_ bytes: ArraySlice<UInt8>, defaultType: ContentType, depth: Int, state: inout State) -> MIMEPart {
        state.partCount += 1
        let block = HeaderParser.parse(bytes)
        state.defects += block.defects
        let headers = block.headers
        var contentType = defaultType
        if let field = headers.first("Content-Type") {
            if let parsed = ContentType.parse(field.rawValue) {
                contentType = parsed
            } else {
                state.defects.append(.invalidContentType(field.value))
            }
        }
        let rawHeader = bytes[bytes.startIndex..<min(block.bodyStart, bytes.endIndex)]
        let rawBody = bytes[min(block.bodyStart, bytes.endIndex)...]
        let encoding = headers["Content-Transfer-Encoding"]
        var part = MIMEPart(headers: headers, contentType: contentType, rawHeader: rawHeader, rawBody: rawBody,
                            body: [], children: [], preamble: [], epilogue: [], embedded: nil, deliveryStatus: nil)

        if contentType.isMultipart {
            guard let boundary = contentType.boundary, !boundary.isEmpty else {
                state.defects.append(.missingBoundaryParameter)
                part.contentType = .textPlain
                part.body = Array(rawBody)
                return part
            }
            part.body = Array(rawBody)
            guard withinLimits(depth: depth, state: &state) else { return part }
            splitMultipart(into: &part, boundary: Array(boundary.utf8), depth: depth, state: &state)
            return part
        }

        let decoded = TransferEncoding.decode(rawBody, encoding: encoding)
        if !decoded.clean {
            state.defects.append((encoding ?? "").lowercased().contains("base64") ? .invalidBase64 : .invalidQuotedPrintable)
        }
        part.body = decoded.bytes
        switch contentType.mimeType {
        case "message/rfc822", "message/global", "message/partial-rfc822":
            if withinLimits(depth: depth, state: &state) {
                let inner = parsePart(part.body[...], defaultType: .textPlain, depth: depth + 1, state: &state)
                part.embedded = EmbeddedMessage(root: inner)
            }
        case "text/rfc822-headers", "text/rfc822-header", "message/rfc822-headers":
            let block = HeaderParser.parse(part.body[...])
            let body = part.body[part.body.count...]
            part.embedded = EmbeddedMessage(root: MIMEPart(
                headers: block.headers, contentType: .textPlain, rawHeader: part.body[...], rawBody: body,
                body: [], children: [], preamble: [], epilogue: [], embedded: nil, deliveryStatus: nil))
        case "message/delivery-status", "message/global-delivery-status":
            part.deliveryStatus = DeliveryStatus.parse(part.body[...])
        default:
            if contentType.type == "text", let charset = contentType.charset,
               !Charset.decodeReportingSuccess(part.body, charset: charset).ok {
                state.defects.append(.unknownOrInvalidCharset(charset))
            }
        }
        return part
    }

    private static func withinLimits(depth: Int, state: inout State) -> Bool {
        if depth + 1 > state.limits.maxDepth {
            if !state.reportedDepth { state.defects.append(.depthLimitReached); state.reportedDepth = true }
            return false
        }
        if state.partCount >= state.limits.maxParts {
            if !state.reportedParts { state.defects.append(.partLimitReached); state.reportedParts = true }
            return false
        }
        return true
    }

    /// Splits a multipart body at "--boundary" lines; a missing "--boundary--" ends the last part at the end.
    private static func splitMultipart(into part: inout MIMEPart, boundary: [UInt8], depth: Int, state: inout State) {
        let body = part.rawBody
        let delimiter = [ASCII.dash, ASCII.dash] + boundary
        let childDefault: ContentType = part.contentType.subtype == "digest" ? .messageRFC822 : .textPlain
        var index = body.startIndex
        var partStart: Int?
        var sawBoundary = false
        var closed = false

        func endOfContent(before lineStart: Int) -> Int {
            var end = lineStart
            if end > body.startIndex, body[end - 1] == ASCII.lf { end -= 1 }
            if end > body.startIndex, body[end - 1] == ASCII.cr { end -= 1 }
            return end
        }

        while let line = body.line(at: index) {
            index = line.next
            let content = body[line.start..<line.contentEnd]
            guard content.starts(with: delimiter) else { continue }
            let rest = content[(line.start + delimiter.count)...]
            let isClose = rest.starts(with: [ASCII.dash, ASCII.dash])
            guard isClose || rest.allSatisfy(ASCII.isWhitespace) else { continue }
            if let start = partStart {
                let end = max(start, endOfContent(before: line.start))
                appendChild(body[start..<end], to: &part, defaultType: childDefault, depth: depth, state: &state)
            } else {
                part.preamble = body[body.startIndex..<endOfContent(before: line.start)]
            }
            sawBoundary = true
            if isClose {
                part.epilogue = body[line.next...]
                closed = true
                break
            }
            partStart = line.next
        }
        if !sawBoundary {
            state.defects.append(.noBoundaryFound)
            part.preamble = body
            return
        }
        if !closed {
            state.defects.append(.missingFinalBoundary)
            if let start = partStart, start <= body.endIndex {
                appendChild(body[start...], to: &part, defaultType: childDefault, depth: depth, state: &state)
            }
        }
    }

    private static func appendChild(_ bytes: ArraySlice<UInt8>, to part: inout MIMEPart, defaultType: ContentType,
                                    depth: Int, state: inout State) {
        guard withinLimits(depth: depth, state: &state) else { return }
        part.children.append(parsePart(bytes, defaultType: defaultType, depth: depth + 1, state: &state))
    }
}
