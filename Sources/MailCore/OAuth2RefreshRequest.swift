// The body and client authentication of a refresh_token grant (RFC 6749 §6):
// application/x-www-form-urlencoded (Appendix B: unreserved bytes kept, space
// as "+", every other byte %XX). A confidential client authenticates with HTTP
// Basic over the form-encoded id and secret (§2.3.1, the scheme every server
// must support); a public client sends client_id in the body instead (§3.2.1).

public enum OAuth2RefreshRequest {
    /// The request body: grant_type, refresh_token, scope when given, client_id for a public client.
    public static func body(refreshToken: String, clientID: String, hasSecret: Bool, scope: String?) -> [UInt8] {
        var fields = [("grant_type", "refresh_token"), ("refresh_token", refreshToken)]
        if let scope { fields.append(("scope", scope)) }
        if !hasSecret { fields.append(("client_id", clientID)) }
        return formEncoded(fields)
    }

    /// The Authorization value for a confidential client: "Basic base64(enc(id) ":" enc(secret))".
    public static func basicAuthorization(clientID: String, secret: String) -> String {
        let pair = formComponent(clientID) + [UInt8(ascii: ":")] + formComponent(secret)
        return "Basic " + String(decoding: Base64.encode(pair), as: UTF8.self)
    }

    public static func formEncoded(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            out += formComponent(name)
            out.append(UInt8(ascii: "="))
            out += formComponent(value)
        }
        return out
    }

    static func formComponent(_ text: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case 0x20:
                out.append(UInt8(ascii: "+"))
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return out
    }
}
