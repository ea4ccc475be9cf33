// The response framer that keeps literals and the FETCH reader: literals in
// every form and split, oversized and absurd literal sizes, items in any order,
// hostile FETCH lines; and a fuzz of the whole sync session (random server
// bytes never crash it, and give the same actions whole and byte by byte).
import Testing
@testable import IMAPProtocol

func frames(_ text: String, chunkSize: Int?, maxLiteral: Int = 1 << 20, maxLine: Int = 4096) -> [IMAPResponseFramerEvent] {
    var framer = IMAPResponseFramer(maxLineLength: maxLine, maxLiteralSize: maxLiteral)
    let input = Array(text.utf8)
    let size = max(1, chunkSize ?? input.count)
    var events: [IMAPResponseFramerEvent] = []
    var start = 0
    while start < input.count {
        framer.append(input[start..<min(input.count, start + size)])
        start += size
        while true {
            let event = framer.next()
            if event == .needMoreBytes { break }
            events.append(event)
            if case .failure = event { return events }
        }
    }
    return events
}

func frame(_ segments: [String], _ literals: [String?], sizes: [Int]? = nil) -> IMAPResponseFramerEvent {
    .frame(IMAPResponseFrame(segments: segments.map { Array($0.utf8) }, literals: literals.map { $0.map { Array($0.utf8) } },
                             literalSizes: sizes))
}

let responseFramerCases: [(String, String, [IMAPResponseFramerEvent])] = [
    ("a plain line", "* OK hi\r\n", [frame(["* OK hi"], [])]),
    ("a bare LF ends a line too", "* OK hi\n", [frame(["* OK hi"], [])]),
    ("one literal", "* 1 FETCH (BODY[] {3}\r\nabc)\r\n", [frame(["* 1 FETCH (BODY[] {3}", ")"], ["abc"])]),
    ("a literal holding CRLF and braces", "* 1 FETCH (BODY[] {7}\r\n{1}\r\n\r\n)\r\n",
     [frame(["* 1 FETCH (BODY[] {7}", ")"], ["{1}\r\n\r\n"])]),
    ("two literals", "* 1 FETCH (BODY[] {1}\r\na RFC822 {2}\r\nbc)\r\n",
     [frame(["* 1 FETCH (BODY[] {1}", " RFC822 {2}", ")"], ["a", "bc"])]),
    ("an empty literal", "* 1 FETCH (BODY[] {0}\r\n)\r\n", [frame(["* 1 FETCH (BODY[] {0}", ")"], [""])]),
    ("literal8 and LITERAL+ forms", "* 1 FETCH (BINARY[] ~{2}\r\nxy X {1+}\r\nz)\r\n",
     [frame(["* 1 FETCH (BINARY[] ~{2}", " X {1+}", ")"], ["xy", "z"])]),
    ("an oversized literal is read past, not kept", "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n* OK next\r\n",
     [frame(["* 1 FETCH (BODY[] {10}", ")"], [nil], sizes: [10]), frame(["* OK next"], [])]),
    ("a line over the limit", "* OK " + String(repeating: "y", count: 5000) + "\r\n", [.failure("response line too long")]),
    ("line text across literals counts together",
     "* 1 FETCH (X {1}\r\na" + String(repeating: "y", count: 4090) + " {1}\r\nb)\r\n", [.failure("response line too long")]),
]

@Test(arguments: responseFramerCases.indices)
func framerWholeAndByteByByte(_ index: Int) {
    let (_, input, expected) = responseFramerCases[index]
    #expect(frames(input, chunkSize: nil, maxLiteral: 8) == expected)
    #expect(frames(input, chunkSize: 1, maxLiteral: 8) == expected)
}

@Test func anAbsurdLiteralSizeIsReadPastWithoutCrashing() {
    var framer = IMAPResponseFramer(maxLineLength: 4096, maxLiteralSize: 1 << 20)
    framer.append(Array("* 1 FETCH (BODY[] {4294967295}\r\n".utf8) + [UInt8](repeating: 0x41, count: 100_000))
    #expect(framer.next() == .needMoreBytes)
    #expect(framer.bufferedByteCount == 0)
}

@Test func aHundredKilobyteLineWithoutCRLFFails() {
    var framer = IMAPResponseFramer(maxLineLength: 65536)
    framer.append([UInt8](repeating: 0x41, count: 100_000))
    #expect(framer.next() == .failure("response line too long"))
}

func fetchOf(_ segments: [String], _ literals: [String?] = []) -> IMAPFetchResponse? {
    IMAPFetchResponse.parse(IMAPResponseFrame(segments: segments.map { Array($0.utf8) },
                                              literals: literals.map { $0.map { Array($0.utf8) } }))
}

let fetchCases: [(String, [String], [String?], IMAPFetchResponse?)] = [
    ("UID then body", ["* 3 FETCH (UID 7 BODY[] {2}", ")"], ["hi"], IMAPFetchResponse(sequenceNumber: 3, uid: 7, body: .bytes(Array("hi".utf8)))),
    ("body then UID", ["* 3 FETCH (BODY[] {2}", " UID 7)"], ["hi"], IMAPFetchResponse(sequenceNumber: 3, uid: 7, body: .bytes(Array("hi".utf8)))),
    ("lower case items", ["* 3 fetch (uid 7 body[] {2}", ")"], ["hi"], IMAPFetchResponse(sequenceNumber: 3, uid: 7, body: .bytes(Array("hi".utf8)))),
    ("flags only", ["* 3 FETCH (FLAGS (\\Seen \\Answered))"], [], IMAPFetchResponse(sequenceNumber: 3, uid: nil, body: nil)),
    ("a header section with spaces and parentheses is skipped",
     ["* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {2}", " UID 9)"], ["x:"], IMAPFetchResponse(sequenceNumber: 3, uid: 9, body: nil)),
    ("an oversized body", ["* 3 FETCH (UID 7 BODY[] {9}", ")"], [nil], IMAPFetchResponse(sequenceNumber: 3, uid: 7, body: .tooLarge(size: 0))),
    ("nested lists are skipped", ["* 3 FETCH (X-GM-LABELS ((a) (b (c))) UID 4)"], [], IMAPFetchResponse(sequenceNumber: 3, uid: 4, body: nil)),
    ("UID 0 is refused", ["* 3 FETCH (UID 0)"], [], nil),
    ("a UID above 32 bits is refused", ["* 3 FETCH (UID 4294967296)"], [], nil),
    ("an unclosed list is refused", ["* 3 FETCH (UID 4"], [], nil),
    ("text after the list is refused", ["* 3 FETCH (UID 4) extra"], [], nil),
    ("an unclosed quoted string is refused", ["* 3 FETCH (BODY[] \"abc)"], [], nil),
    ("an unclosed section is refused", ["* 3 FETCH (BODY[HEADER UID 4)"], [], nil),
    ("a stray close is refused", ["* 3 FETCH (FLAGS ) UID 4)"], [], nil),
    ("not a FETCH", ["* 3 EXISTS"], [], nil),
    ("no sequence number", ["* FETCH (UID 4)"], [], nil),
]

@Test(arguments: fetchCases.indices)
func fetchReader(_ index: Int) {
    let (_, segments, literals, expected) = fetchCases[index]
    #expect(fetchOf(segments, literals) == expected)
}

let syncServerAlphabet = ["* ", "S1 ", "S2 ", "S3 ", "S4 ", "+ ", "OK ", "NO ", "BAD ", "BYE ", "[UIDVALIDITY ", "[UIDNEXT ",
                          "]", "3 ", "7", "0 ", "4294967295 ", "EXISTS", "FETCH ", "(", ")", "UID ", "BODY[] ", "{", "}",
                          "{2}\r\nab", "\r\n", "\"", "\\", "NIL ", "FLAGS ", "\u{0}", "~", "[", "RECENT"]

@Test(arguments: 0..<40)
func fuzzSyncSession(_ seed: Int) {
    let input = randomInput(syncServerAlphabet, seed: UInt64(seed) &+ 5000, count: 400)
    let configuration = IMAPSyncConfiguration(folders: [IMAPSyncFolder(name: "INBOX", uidValidity: 7, lastUID: 2),
                                                        IMAPSyncFolder(name: "Archive")],
                                              capabilities: seed.isMultiple(of: 2) ? ["IDLE"] : [], maxMessageSize: 1)
    var whole = IMAPSyncSession(configuration: configuration)
    var bytewise = whole
    let started = whole.start()
    #expect(bytewise.start() == started)
    var wholeActions = whole.receive(input)
    var bytewiseActions: [IMAPSyncAction] = []
    for byte in input { bytewiseActions += bytewise.receive([byte]) }
    wholeActions += whole.timerFired() + whole.connectionClosed()
    bytewiseActions += bytewise.timerFired() + bytewise.connectionClosed()
    #expect(bytewiseActions == wholeActions)
}
