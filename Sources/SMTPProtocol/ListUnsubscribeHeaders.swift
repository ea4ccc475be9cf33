// RFC 2369 List-Unsubscribe and RFC 8058 List-Unsubscribe-Post for bulk mail the
// relay sends: prepended to the header section (each URI on its own folded
// line, so no line nears the 998-octet limit), every other byte unchanged.
// A message that carries its own List-Unsubscribe is left alone; the one-click
// field goes only with an https URI (RFC 8058 §3.1).

public enum ListUnsubscribeHeaders {
    public static let oneClickValue = "List-Unsubscribe=One-Click"

    public static func present(in message: [UInt8]) -> Bool {
        MessageHeaders.fields(in: message).fields.contains { $0.name == "list-unsubscribe" }
    }

    /// The message with the fields added; nil when it has its own List-Unsubscribe or `uris` is
    /// empty or a URI holds a character that cannot go between angle brackets.
    public static func adding(to message: [UInt8], mailto: String?, https: String?) -> [UInt8]? {
        let uris = [mailto, https].compactMap { $0 }
        guard !uris.isEmpty, !present(in: message),
              uris.allSatisfy({ $0.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ">") } })
        else { return nil }
        var fields = "List-Unsubscribe: " + uris.map { "<\($0)>" }.joined(separator: ",\r\n ") + "\r\n"
        if https != nil { fields += "List-Unsubscribe-Post: \(oneClickValue)\r\n" }
        return Array(fields.utf8) + message
    }
}
