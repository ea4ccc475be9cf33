// The `[unsubscribe] listen` endpoint (RFC 8058 one-click, plain HTTP behind the
// TLS proxy that publishes public_url). The token is the last path segment.
// POST with the form field List-Unsubscribe=One-Click suppresses the recipient
// for that sender and records `unsubscribed` (200; replays change nothing);
// GET/HEAD show a page with a confirm form and change nothing (mail scanners
// follow links). A token that is not base64url gets 400, one that does not
// verify 404, a POST without the field 400, a database failure 503.
import Config
import HTTPProtocol
import Logging
import MailCore
import Postgres
import Reactor
import Threading

final class UnsubscribeServer {
    /// RFC 8058 bodies are one short form field; room for a multipart wrapping of it.
    static let maxBodySize = 4096

    private let pool: PGPool
    private let links: UnsubscribeLinks
    private let logger = Logger(label: "unsubscribe")
    private var http: HTTPServer?

    init(reactor: Reactor, pool: PGPool, links: UnsubscribeLinks) {
        self.pool = pool
        self.links = links
        http = HTTPServer(name: "unsubscribe", reactor: reactor, limits: HTTPRequestLimits(maxBodySize: Self.maxBodySize),
                          logger: logger) { [unowned self] in self.respond(to: $0, $1) }
    }

    func update(to spec: SocketAddressSpec?) -> String? { http?.update(to: spec) }

    func close() { http?.close() }

    func respond(to request: HTTPRequest, _ reply: @escaping (HTTPResponse) -> Void) {
        let token = Self.lastSegment(request.path)
        guard !token.isEmpty, token.allSatisfy(Self.isBase64URL) else {
            return reply(.text(.badRequest, "not an unsubscribe link"))
        }
        guard let key = links.key else { return reply(.text(.serviceUnavailable, "try again later")) }
        guard let unsubscribe = UnsubscribeToken.verify(token, key: key) else {
            logger.info("refused", metadata: ["reason": "token does not verify", "status": "404"])
            return reply(.text(.notFound, "unknown or expired unsubscribe link"))
        }
        switch request.method {
        case .get, .head:
            reply(Self.confirmPage(unsubscribe))
        case .post:
            guard Self.isOneClick(request.body) else {
                return reply(.text(.badRequest, "expected the form field List-Unsubscribe=One-Click"))
            }
            let statement = UnsubscribeSQL.unsubscribe(unsubscribe, via: "one-click")
            pool.query(statement.sql, statement.params) { [logger] result in
                switch result {
                case .success(let rows):
                    logger.info("unsubscribed", metadata: ["recipient": "\(unsubscribe.recipient)",
                                                           "sender": "\(unsubscribe.sender)", "new": "\(rows.count > 0)"])
                    reply(.text(.ok, "\(unsubscribe.recipient) will get no more mail from \(unsubscribe.sender)"))
                case .failure(let error):
                    logger.error("unsubscribe failed", metadata: ["error": "\(error)"])
                    reply(.text(.serviceUnavailable, "try again later"))
                }
            }
        case .other:
            reply(.text(.methodNotAllowed, "GET or POST"))
        }
    }

    static func lastSegment(_ path: [UInt8]) -> ArraySlice<UInt8> {
        let trimmed = path.last == UInt8(ascii: "/") ? path.dropLast() : path[...]
        guard let slash = trimmed.lastIndex(of: UInt8(ascii: "/")) else { return trimmed }
        return trimmed[(slash + 1)...]
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// RFC 8058 §3.1: the POST carries List-Unsubscribe=One-Click (urlencoded form, or as a
    /// multipart/form-data field, where the name and value appear apart).
    static func isOneClick(_ body: [UInt8]) -> Bool {
        let text = String(decoding: body, as: UTF8.self)
        if text.split(separator: "&").contains(where: { $0.trimmingCharacters(in: " \r\n") == "List-Unsubscribe=One-Click" }) {
            return true
        }
        return text.contains("name=\"List-Unsubscribe\"") && text.contains("One-Click")
    }

    static func confirmPage(_ request: UnsubscribeRequest) -> HTTPResponse {
        let html = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>Unsubscribe</title></head><body>
            <p>Stop mail from \(escape(request.sender)) to \(escape(request.recipient))?</p>
            <form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
            <button type="submit">Unsubscribe</button></form>
            </body></html>

            """
        return HTTPResponse(status: .ok, headers: [HTTPHeader("Content-Type", "text/html; charset=utf-8")],
                            body: Array(html.utf8))
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return text
    }
}
