// Small codecs and receivers on their own: base64 (strict), RFC 3339 / RFC 5322 dates, xtext,
// MT-PRIORITY values, the DATA receiver fed one byte at a time, and envelope paths.

import Testing
import MailCore
@testable import SMTPProtocol

@Suite struct CodecTests {
    static let base64Pairs: [(String, String)] = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                                                   ("\u{0}alice\u{0}secret", "AGFsaWNlAHNlY3JldA==")]

    @Test(arguments: base64Pairs)
    func base64RoundTrip(_ pair: (String, String)) {
        #expect(Base64.encode(bytes(pair.0)) == bytes(pair.1))
        #expect(Base64.decode(bytes(pair.1)) == bytes(pair.0))
    }

    static let badBase64 = ["Zg=", "Zg", "Zh==", "Zm9=", "Z===", "Zm 9v", "Zm9v\r\n", "====", "Zg==Zg==", "Zm-v"]

    @Test(arguments: badBase64)
    func base64Refuses(_ text: String) {
        #expect(Base64.decode(bytes(text)) == nil)
    }

    static let times: [(String, Int64?)] = [
        ("1970-01-01T00:00:00Z", 0), ("2023-11-14T22:13:20Z", 1_700_000_000), ("2023-11-14t22:13:20z", 1_700_000_000),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000), ("2023-11-14T21:13:20.123-01:00", 1_700_000_000),
        ("2024-02-29T00:00:00Z", 1_709_164_800), ("2023-02-29T00:00:00Z", nil), ("2023-13-01T00:00:00Z", nil),
        ("2023-11-14T24:00:00Z", nil), ("2023-11-14T22:13:20", nil), ("2023-11-14 22:13:20Z", nil),
        ("2023-11-14T22:13:20.Z", nil), ("2023-11-14T22:13:20Zjunk", nil), ("", nil),
    ]

    @Test(arguments: times)
    func rfc3339(_ testCase: (String, Int64?)) {
        #expect(RFC3339.parse(bytes(testCase.0)[...]) == testCase.1)
    }

    @Test func formats() {
        #expect(RFC3339.format(1_700_000_000) == "2023-11-14T22:13:20Z")
        #expect(RFC3339.formatRFC5322(0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(RFC3339.formatRFC5322(1_709_164_800) == "Thu, 29 Feb 2024 00:00:00 +0000")
    }

    @Test func formatParseRoundTrip() {
        var random = SplitMix64(state: 3)
        for _ in 0..<1000 {
            let time = Int64(random.next() % 253_402_300_799)
            #expect(RFC3339.parse(bytes(RFC3339.format(time))[...]) == time)
        }
    }

    static let xtexts: [(String, String?)] = [("abc", "abc"), ("a+2Bb", "a+b"), ("a+3Db", "a=b"), ("a+2b", nil), ("a+2", nil), ("a=b", nil)]

    @Test(arguments: xtexts)
    func xtext(_ testCase: (String, String?)) {
        #expect(ESMTPParameters.xtextDecode(bytes(testCase.0)[...]) == testCase.1)
    }

    static let priorities: [(String, Int?)] = [("0", 0), ("+3", 3), ("-9", -9), ("9", 9), ("10", nil), ("-", nil), ("", nil), ("--1", nil)]

    @Test(arguments: priorities)
    func mtPriorityValues(_ testCase: (String, Int?)) {
        #expect(ESMTPParameters.mtPriority(bytes(testCase.0)[...]) == testCase.1)
    }
}

@Suite struct DataReceiverTests {
    static let cases: [(input: String, message: String?, problem: MessageProblem?)] = [
        ("a\r\n.\r\n", "a\r\n", nil),
        (".\r\n", "", nil),
        ("..\r\n.\r\n", ".\r\n", nil),
        ("a\r\n..b\r\n.\r\n", "a\r\n.b\r\n", nil),
        ("a\n.\n", nil, nil),
        ("a\n.\r\n", nil, nil),
        ("a\r\n.\n", nil, nil),
        ("a\r.\r", nil, nil),
        ("a\n.\r\n.\r\n", "a\n.\r\n", .bareLineEnd),
        ("a\r\n.x\r\n.\r\n", "a\r\nx\r\n", nil),
        ("a\rb\r\n.\r\n", "a\rb\r\n", .bareLineEnd),
    ]

    @Test(arguments: cases.indices)
    func byteAtATime(_ index: Int) {
        let testCase = Self.cases[index]
        var receiver = DataReceiver(maxSize: 1000, maxLineLength: 1000)
        var finished = false
        var consumedTotal = 0
        for byte in bytes(testCase.input) where !finished {
            let (consumed, done) = receiver.consume([byte][...])
            consumedTotal += consumed
            finished = done
        }
        #expect(finished == (testCase.message != nil))
        if let message = testCase.message {
            #expect(receiver.message == bytes(message))
            #expect(receiver.problem == testCase.problem)
            #expect(consumedTotal == bytes(testCase.input).count)
        }
    }

    @Test func stopsAtTheEndAndLeavesTheRest() {
        var receiver = DataReceiver(maxSize: 1000, maxLineLength: 1000)
        let input = bytes("x\r\n.\r\nNOOP\r\n")
        let (consumed, finished) = receiver.consume(input[...])
        #expect(finished)
        #expect(Array(input[consumed...]) == bytes("NOOP\r\n"))
    }

    @Test func overSizeDropsTheBuffer() {
        var receiver = DataReceiver(maxSize: 10, maxLineLength: 1000)
        _ = receiver.consume(bytes("0123456789abc\r\n")[...])
        #expect(receiver.message.isEmpty)
        #expect(receiver.problem == .tooBig)
    }
}
