// DATA content receiver: dot-unstuffing (RFC 5321 §4.5.2) and end-of-data detection where ONLY
// <CRLF>.<CRLF> ends the message; a bare LF or bare CR never starts or ends a line (SMTP smuggling:
// <LF>.<LF>, <CR>.<CR>, <LF>.<CRLF>, <CRLF>.<LF> are content). Bare CR/LF and over-long lines are
// flagged and the message refused at the end (the session goes on). The buffer stays bounded:
// beyond maxSize bytes are counted and dropped, the message is freed, and the end answers 552.

/// Why a received message is refused at its end.
enum MessageProblem: Equatable {
    case tooBig
    case bareLineEnd
    case lineTooLong

    var reply: SMTPReply {
        switch self {
        case .tooBig: .messageTooBig
        case .bareLineEnd: .bareLineEnd
        case .lineTooLong: .textLineTooLong
        }
    }

    /// Several problems: the most useful one to report wins.
    static func worst(_ problems: MessageProblem?...) -> MessageProblem? {
        let present = problems.compactMap { $0 }
        if present.contains(.tooBig) { return .tooBig }
        if present.contains(.bareLineEnd) { return .bareLineEnd }
        if present.contains(.lineTooLong) { return .lineTooLong }
        return nil
    }
}

struct DataReceiver {
    private enum Position {
        /// Just after CRLF (or at the very start): a "." here is special.
        case lineStart
        /// A line-start "." was seen and held back.
        case dot
        /// Line-start "." then CR: LF now ends the data.
        case dotCR
        /// Inside a line.
        case text
        /// Inside a line, last byte was CR (held back until we see what follows).
        case textCR
    }

    private let maxSize: Int
    private let maxLineContent: Int
    private var position: Position = .lineStart
    private var lineLength = 0
    private(set) var size = 0
    private(set) var message: [UInt8] = []
    private(set) var sawBareLineEnd = false
    private(set) var sawLongLine = false

    init(maxSize: Int, maxLineLength: Int) {
        self.maxSize = maxSize
        self.maxLineContent = max(0, maxLineLength - 2)
    }

    var problem: MessageProblem? {
        MessageProblem.worst(size > maxSize ? .tooBig : nil,
                             sawBareLineEnd ? .bareLineEnd : nil,
                             sawLongLine ? .lineTooLong : nil)
    }

    /// Consumes bytes up to and including the end-of-data line; returns how many were used and
    /// whether the end was reached (the rest belongs to the next command).
    mutating func consume(_ bytes: ArraySlice<UInt8>) -> (consumed: Int, finished: Bool) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch position {
            case .text:
                // Fast path: copy up to the next CR or LF in one go.
                let stop = Self.nextLineEndByte(in: bytes, from: index)
                if stop > index {
                    lineLength += stop - index
                    if lineLength > maxLineContent { sawLongLine = true }
                    emit(bytes[index..<stop])
                    index = stop
                    continue
                }
                let byte = bytes[index]
                index += 1
                if byte == 13 {
                    position = .textCR
                } else {
                    sawBareLineEnd = true
                    emit(byte)
                }
            case .textCR:
                let byte = bytes[index]
                if byte == 10 {
                    index += 1
                    emit(13)
                    emit(10)
                    position = .lineStart
                    lineLength = 0
                } else {
                    // Bare CR: keep it as content, look at this byte again as text.
                    sawBareLineEnd = true
                    emit(13)
                    lineLength += 1
                    position = .text
                }
            case .lineStart:
                if bytes[index] == UInt8(ascii: ".") {
                    index += 1
                    lineLength = 1
                    position = .dot
                } else {
                    position = .text
                }
            case .dot:
                if bytes[index] == 13 {
                    index += 1
                    position = .dotCR
                } else {
                    // Dot-stuffed line: the leading dot is dropped, the byte is ordinary text.
                    position = .text
                }
            case .dotCR:
                if bytes[index] == 10 {
                    index += 1
                    position = .lineStart
                    return (index - bytes.startIndex, true)
                }
                // "." CR x: the dot is stuffing, the CR is bare.
                sawBareLineEnd = true
                emit(13)
                lineLength += 1
                position = .text
            }
        }
        return (index - bytes.startIndex, false)
    }

    /// Index of the next CR or LF at or after `start`, or the end (unsafe buffer: the hot loop).
    private static func nextLineEndByte(in bytes: ArraySlice<UInt8>, from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var offset = start - bytes.startIndex
            while offset < buffer.count, buffer[offset] != 13, buffer[offset] != 10 { offset += 1 }
            return bytes.startIndex + offset
        }
    }

    private mutating func emit(_ byte: UInt8) {
        size += 1
        if size <= maxSize { message.append(byte) } else { dropMessage() }
    }

    private mutating func emit(_ slice: ArraySlice<UInt8>) {
        size += slice.count
        if size <= maxSize { message.append(contentsOf: slice) } else { dropMessage() }
    }

    private mutating func dropMessage() {
        if !message.isEmpty { message = [] }
    }
}

/// Content checks for BDAT chunks (no stuffing, no terminator): bare CR/LF and line length,
/// carried across chunk boundaries. BDAT content is relayed later with DATA, so it gets the
/// same rules as DATA content.
struct ChunkContentScanner {
    private let maxLineContent: Int
    private var lastWasCR = false
    private var lineLength = 0
    private(set) var sawBareLineEnd = false
    private(set) var sawLongLine = false

    init(maxLineLength: Int) {
        self.maxLineContent = max(0, maxLineLength - 2)
    }

    mutating func scan(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBufferPointer { buffer in scan(buffer) }
    }

    private mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes {
            if lastWasCR {
                lastWasCR = false
                if byte == 10 {
                    lineLength = 0
                    continue
                }
                sawBareLineEnd = true
                lineLength += 1
            }
            if byte == 13 {
                lastWasCR = true
            } else if byte == 10 {
                sawBareLineEnd = true
            } else {
                lineLength += 1
                if lineLength > maxLineContent { sawLongLine = true }
            }
        }
    }

    /// Called at BDAT LAST: a trailing CR is a bare CR.
    mutating func finish() {
        if lastWasCR { sawBareLineEnd = true }
    }
}
