// The capability filter (what the relayed client may see), the pre-login
// lists, and the server-response reader: parsing, literals inside responses,
// limits, and identical results for every chunking.
import Testing
@testable import IMAPProtocol

struct FilterCase: CustomTestStringConvertible, Sendable {
    let capability: String
    let kept: Bool
    var testDescription: String { "\(capability) \(kept ? "kept" : "dropped")" }
}

let filterCases: [FilterCase] = [
    FilterCase(capability: "IMAP4rev1", kept: true), FilterCase(capability: "IMAP4rev2", kept: true),
    FilterCase(capability: "IDLE", kept: true), FilterCase(capability: "LITERAL+", kept: true),
    FilterCase(capability: "LITERAL-", kept: true), FilterCase(capability: "ID", kept: true),
    FilterCase(capability: "ENABLE", kept: true), FilterCase(capability: "UTF8=ACCEPT", kept: true),
    FilterCase(capability: "CONDSTORE", kept: true), FilterCase(capability: "QRESYNC", kept: true),
    FilterCase(capability: "X-GM-EXT-1", kept: true), FilterCase(capability: "APPENDLIMIT=35651584", kept: true),
    FilterCase(capability: "SORT=DISPLAY", kept: true), FilterCase(capability: "MOVE", kept: true),
    FilterCase(capability: "STARTTLS", kept: false), FilterCase(capability: "starttls", kept: false),
    FilterCase(capability: "LOGINDISABLED", kept: false), FilterCase(capability: "AUTH=PLAIN", kept: false),
    FilterCase(capability: "AUTH=XOAUTH2", kept: false), FilterCase(capability: "auth=oauthbearer", kept: false),
    FilterCase(capability: "SASL-IR", kept: false), FilterCase(capability: "COMPRESS=DEFLATE", kept: false),
    FilterCase(capability: "LOGIN-REFERRALS", kept: false), FilterCase(capability: "MAILBOX-REFERRALS", kept: false),
    FilterCase(capability: "URLAUTH", kept: false), FilterCase(capability: "URLAUTH=BINARY", kept: false),
    FilterCase(capability: "UNAUTHENTICATE", kept: false),
    FilterCase(capability: "X]INJECT", kept: false), FilterCase(capability: "", kept: false),
]

@Test(arguments: filterCases)
func capabilityFilter(_ testCase: FilterCase) {
    #expect(IMAPCapabilities.clientVisible([testCase.capability]) == (testCase.kept ? [testCase.capability] : []))
}

@Test func capabilityFilterKeepsOrderAndDropsDuplicates() {
    #expect(IMAPCapabilities.clientVisible(["IMAP4rev1", "IDLE", "idle", "STARTTLS", "MOVE", "IMAP4REV1"])
            == ["IMAP4rev1", "IDLE", "MOVE"])
}

@Test func literalPlusIsAdvertisedOnlyWhenItIsHonoured() {
    let generous = IMAPCommandLimits(maxLiteralSize: 4096, maxNonSynchronizingLiteralSize: 4096)
    #expect(IMAPCapabilities.preLogin(tlsActive: true, limits: generous).contains("LITERAL+"))
    #expect(IMAPCapabilities.preLogin(tlsActive: true).contains("LITERAL-"))
}

struct ReaderCase: CustomTestStringConvertible, Sendable {
    let name: String
    let input: String
    let expected: [IMAPResponseEvent]
    var testDescription: String { name }
}

func response(_ kind: IMAPServerResponse.Kind, _ status: IMAPResponseStatus?, code: [String] = [], text: String = "",
              data: [String] = []) -> IMAPResponseEvent {
    .response(IMAPServerResponse(kind: kind, status: status, code: code, text: text, data: data))
}

let readerCases: [ReaderCase] = [
    ReaderCase(name: "greeting with code", input: "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n",
               expected: [response(.untagged, .ok, code: ["CAPABILITY", "IMAP4rev1", "IDLE"], text: "ready")]),
    ReaderCase(name: "tagged NO with code", input: "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
               expected: [response(.tagged("a1"), .no, code: ["AUTHENTICATIONFAILED"], text: "Authentication failed.")]),
    ReaderCase(name: "status is case-insensitive", input: "a1 ok done\r\n", expected: [response(.tagged("a1"), .ok, text: "done")]),
    ReaderCase(name: "status without text", input: "a1 OK\r\n", expected: [response(.tagged("a1"), .ok)]),
    ReaderCase(name: "untagged data", input: "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n",
               expected: [response(.untagged, nil, data: ["CAPABILITY", "IMAP4rev1", "AUTH=PLAIN"])]),
    ReaderCase(name: "continuation with text", input: "+ eyJ9\r\n", expected: [response(.continuation, nil, text: "eyJ9")]),
    ReaderCase(name: "bare continuation", input: "+\r\n", expected: [response(.continuation, nil)]),
    ReaderCase(name: "bare LF", input: "* OK hi\n", expected: [response(.untagged, .ok, text: "hi")]),
    ReaderCase(name: "literal inside a response is skipped", input: "* ID (\"name\" {5}\r\nab\r\nc)\r\na OK x\r\n",
               expected: [response(.untagged, nil, data: ["ID", "(\"name\"", "{5}"]), response(.tagged("a"), .ok, text: "x")]),
    ReaderCase(name: "not IMAP", input: "SSH-2.0-OpenSSH_9.2\r\n", expected: [.failure("not an IMAP response")]),
    ReaderCase(name: "tagged data is not IMAP", input: "a1 CAPABILITY x\r\n", expected: [.failure("not an IMAP response")]),
    ReaderCase(name: "literal too large", input: "* ID {4294967295}\r\n", expected: [.failure("literal in response too large")]),
    ReaderCase(name: "endless line", input: String(repeating: "x", count: 70_000), expected: [.failure("response line too long")]),
]

func readAll(_ input: [UInt8], chunkSize: Int) -> [IMAPResponseEvent] {
    var reader = IMAPResponseReader()
    var events: [IMAPResponseEvent] = []
    let size = chunkSize <= 0 ? max(1, input.count) : chunkSize
    var index = 0
    while index < input.count {
        let end = min(input.count, index + size)
        reader.append(input[index..<end])
        index = end
        while true {
            let event = reader.next()
            if event == .needMoreBytes { break }
            events.append(event)
            if case .failure = event { return events }
        }
    }
    return events
}

@Test(arguments: readerCases, [0, 1, 3])
func responseReader(_ testCase: ReaderCase, chunkSize: Int) {
    #expect(readAll(bytes(testCase.input), chunkSize: chunkSize) == testCase.expected)
}
