// Bytes the upstream session writes: command lines (MAIL/RCPT with their ESMTP parameters), SASL
// client responses, dot-stuffed message content and xtext. SASL PLAIN (RFC 4616), LOGIN and
// XOAUTH2 are encoded here in Swift rather than through Cyrus SASL's client: each is one fixed
// string, and keeping them pure keeps this module free of C. Addresses or names with control
// characters or angle brackets are refused (no command injection through an address).

import MailCore

enum SMTPClientEncoding {
    static func line(_ text: String) -> [UInt8] { Array(text.utf8) + [13, 10] }

    /// "<local@domain>", nil when the address could break the command line.
    static func path(_ address: MailboxAddress?) -> String? {
        guard let address else { return "<>" }
        let text = address.description
        guard !address.localPart.isEmpty, !address.domain.isEmpty,
              text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") })
        else { return nil }
        return "<\(text)>"
    }

    /// EHLO/HELO argument with anything that is not visible ASCII dropped.
    static func heloName(_ name: String) -> String {
        let cleaned = String(decoding: name.utf8.filter { $0 > 0x20 && $0 < 0x7F }, as: UTF8.self)
        return cleaned.isEmpty ? "localhost" : cleaned
    }

    /// RFC 3461 §4 xtext: visible ASCII except "+" and "=" as is, everything else as "+HH".
    static func xtext(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if byte >= 33 && byte <= 126 && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "=") {
                out.append(byte)
            } else {
                out.append(contentsOf: [UInt8(ascii: "+"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func notify(_ notify: DSNNotify) -> String {
        switch notify {
        case .never:
            return "NEVER"
        case .on(let conditions):
            return DSNNotifyCondition.allCases.filter { conditions.contains($0) }.map(\.rawValue).joined(separator: ",")
        }
    }

    // MARK: SASL client responses (base64 of the raw response)

    static func plainResponse(user: String, password: String) -> String {
        base64([0] + Array(user.utf8) + [0] + Array(password.utf8))
    }

    /// Google/Microsoft XOAUTH2: "user=U ^A auth=Bearer T ^A ^A".
    static func xoauth2Response(user: String, token: String) -> String {
        base64(Array("user=\(user)\u{1}auth=Bearer \(token)\u{1}\u{1}".utf8))
    }

    static func base64(_ bytes: [UInt8]) -> String { String(decoding: Base64.encode(bytes), as: UTF8.self) }
}

/// Dot-stuffing for DATA (RFC 5321 §4.5.2): a "." at the start of a line is doubled; the end adds
/// CRLF when the content lacks a final one, then ".CRLF". Works chunk by chunk.
struct DotStuffer {
    private var atLineStart = true
    private var lastWasCR = false

    mutating func stuff(_ chunk: some Collection<UInt8>, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + chunk.count + chunk.count / 64)
        for byte in chunk {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            out.append(byte)
            atLineStart = byte == 10
            lastWasCR = byte == 13
        }
    }

    /// The terminator: CRLF if the content did not end a line, then ".CRLF".
    mutating func finish(into out: inout [UInt8]) {
        if lastWasCR {
            out.append(10)
        } else if !atLineStart {
            out.append(contentsOf: [13, 10])
        }
        out.append(contentsOf: [UInt8(ascii: "."), 13, 10])
        atLineStart = true
        lastWasCR = false
    }

    static func stuffed(_ content: [UInt8]) -> [UInt8] {
        var stuffer = DotStuffer()
        var out: [UInt8] = []
        stuffer.stuff(content, into: &out)
        stuffer.finish(into: &out)
        return out
    }
}
