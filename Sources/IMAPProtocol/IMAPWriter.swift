// Builds the bytes mailgate sends: status responses to clients, and command
// arguments (quoted strings or literals) to upstream servers.
// Contract: every output ends in CRLF; quoted() refuses anything a quoted
// string cannot carry (CR, LF, NUL, 8-bit), so callers fall back to a literal.

enum IMAPWriter {
    /// `tag STATUS [code] text` CRLF, or `* STATUS ...` when tag is nil.
    static func status(_ tag: String?, _ status: String, code: String? = nil, _ text: String) -> [UInt8] {
        var line = (tag ?? "*") + " " + status + " "
        if let code { line += "[" + code + "] " }
        line += text + "\r\n"
        return Array(line.utf8)
    }

    /// An untagged data response, `* text` CRLF.
    static func untagged(_ text: String) -> [UInt8] {
        Array(("* " + text + "\r\n").utf8)
    }

    /// A continuation request, `+ text` CRLF (text may be empty: "+ ").
    static func continuation(_ text: String) -> [UInt8] {
        Array(("+ " + text + "\r\n").utf8)
    }

    /// `"..."` with `\` and `"` escaped; nil when the bytes need a literal.
    static func quoted(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for byte in bytes {
            switch byte {
            case 0x00, 0x0A, 0x0D, 0x80...0xFF:
                return nil
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// A string for a text field we control (never needs a literal): quoted,
    /// with bytes a quoted string cannot carry replaced by "?".
    static func quotedText(_ text: String) -> String {
        let safe = text.utf8.map { byte -> UInt8 in
            switch byte {
            case 0x00, 0x0A, 0x0D, 0x80...0xFF: return UInt8(ascii: "?")
            default: return byte
            }
        }
        return String(decoding: quoted(safe) ?? Array("\"\"".utf8), as: UTF8.self)
    }
}
