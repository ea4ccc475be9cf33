// Our queue ids in a returned message: "X-Mailgate-Queue-ID" (in our own DSNs'
// per-message fields or the returned headers) and the Received line mailgate
// writes ("by HOST (mailgate) with ESMTPSA id QUEUEID"), found in attached
// messages, returned header parts and quoted text. The message's own top-level
// header is not searched: our inbound hop may have written one there.
import MIME
import MailCore

public enum MailgateTrace {
    static let maxScan = 1 << 20

    /// Distinct well-formed queue ids, in the order found.
    public static func queueIDs(in message: MIMEMessage) -> [String] {
        var found: [String] = []
        func add(_ candidate: String) {
            var id = candidate.trimmingAngles
            while let last = id.last, last == ";" || last == "," || last == "." { id.removeLast() }
            if QueueID.isValid(id), !found.contains(id) { found.append(id) }
        }
        func scanHeaders(_ headers: Headers) {
            for field in headers.all("X-Mailgate-Queue-ID") { add(field.value) }
            for field in headers.all("Received") { scanText(field.value) }
        }
        func scanText(_ text: String) {
            for line in text.prefix(maxScan).split(whereSeparator: \.isNewline) {
                let lower = line.lowercased()
                if lower.hasPrefix("x-mailgate-queue-id:") {
                    add(String(line.dropFirst("x-mailgate-queue-id:".count)).trimmingBlanks)
                }
                guard lower.contains("(mailgate)") else { continue }
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard let marker = words.firstIndex(where: { $0.lowercased() == "(mailgate)" }) else { continue }
                // (mailgate) with PROTO id QUEUEID
                let tail = Array(words[(marker + 1)...].prefix(4))
                if tail.count == 4, tail[0].lowercased() == "with", tail[2].lowercased() == "id" { add(String(tail[3])) }
            }
        }
        message.root.walk { part in
            if let status = part.deliveryStatus { scanHeaders(status.perMessage) }
            if let embedded = part.embedded { scanHeaders(embedded.root.headers) }
            if part.contentType.type == "text", part.embedded == nil { scanText(part.text) }
        }
        return found
    }
}

extension String {
    var trimmingBlanks: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice.removeLast() }
        return String(slice)
    }

    var trimmingAngles: String {
        var slice = Substring(trimmingBlanks)
        if slice.first == "<" { slice.removeFirst() }
        if slice.last == ">" { slice.removeLast() }
        return String(slice)
    }
}
