// Unsubscribe tokens: the round trip, and every way
// a token must fail (forged MAC, other key, another recipient or sender spliced in, truncation,
// non-base64url input, a wrong version).

import MailCore
import Testing
@testable import Threading

@Suite struct UnsubscribeTokenTests {
    static let key: [UInt8] = Array(0...31)
    static let request = UnsubscribeRequest(sender: "news@example.test", recipient: "bob@example.org")

    static func token(_ request: UnsubscribeRequest = request, key: [UInt8] = key) -> String {
        UnsubscribeToken.make(request, key: key) ?? ""
    }

    @Test func roundTrip() {
        #expect(UnsubscribeToken.verify(Array(Self.token().utf8), key: Self.key) == Self.request)
    }

    @Test func addressesAreLowerCased() {
        let mixed = UnsubscribeRequest(sender: "News@Example.TEST", recipient: "Bob@Example.org")
        #expect(UnsubscribeToken.verify(Array(Self.token(mixed).utf8), key: Self.key) == Self.request)
    }

    @Test func tokenIsURLAndLocalPartSafe() {
        #expect(Self.token().utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
            || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
    }

    @Test(arguments: ["", "bob", "a b@example.org", "x@\u{7F}"])
    func implausibleAddressesGetNoToken(_ recipient: String) {
        #expect(UnsubscribeToken.make(UnsubscribeRequest(sender: "news@example.test", recipient: recipient),
                                      key: Self.key) == nil)
    }

    /// Takes a valid token apart and puts it back together with other contents.
    static func reassembled(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = Base64.decodeURL(Array(token().utf8)) ?? []
        edit(&bytes)
        return Base64.encodeURL(bytes)
    }

    static let bad: [(String, [UInt8])] = [
        ("empty", []),
        ("other key", Array(token(key: Array("another key".utf8)).utf8)),
        ("last MAC byte flipped", reassembled { $0[$0.count - 1] ^= 1 }),
        ("recipient changed, MAC kept", reassembled { bytes in
            let at = bytes.count - 32 - "org".utf8.count
            bytes.replaceSubrange(at..<(at + 3), with: Array("com".utf8))
        }),
        ("sender changed, MAC kept", reassembled { $0[2] = UInt8(ascii: "m") }),
        ("sender/recipient boundary moved", reassembled { $0[1] += 1 }),
        ("wrong version", reassembled { $0[0] = 2 }),
        ("truncated by one character", Array(token().utf8.dropLast())),
        ("truncated by a MAC's worth", Array(token().utf8.dropLast(43))),
        ("MAC only", Base64.encodeURL([UInt8](repeating: 7, count: 32))),
        ("standard base64 characters", Array(token().utf8).map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 } + Array("+/".utf8)),
        ("padded", Array((token() + "=").utf8)),
        ("non-base64", Array("not a token!".utf8)),
        ("percent-encoded", Array("%41%42".utf8)),
        ("NUL", [0, 0, 0, 0]),
        ("huge", [UInt8](repeating: UInt8(ascii: "A"), count: 100_000)),
    ]

    @Test(arguments: bad.indices)
    func refused(_ index: Int) {
        let (name, token) = Self.bad[index]
        #expect(UnsubscribeToken.verify(token, key: Self.key) == nil, "\(name)")
    }

    @Test func forgedTokenWithOwnMACIsRefused() {
        // An attacker who knows the layout but not the key signs with a guess.
        let forged = UnsubscribeToken.make(UnsubscribeRequest(sender: "news@example.test", recipient: "victim@example.org"),
                                           key: Array("guess".utf8)) ?? ""
        #expect(UnsubscribeToken.verify(Array(forged.utf8), key: Self.key) == nil)
    }

    @Test func emptyKeyVerifiesNothing() {
        let token = UnsubscribeToken.make(Self.request, key: []) ?? ""
        #expect(UnsubscribeToken.verify(Array(token.utf8), key: []) == nil)
    }
}

@Suite struct UnsubscribeMailTests {
    static let token = UnsubscribeTokenTests.token()
    static let key = UnsubscribeTokenTests.key

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var recipients: [String]
        var subject: String
        var expected: UnsubscribeRequest?
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "inbound domain address", recipients: ["unsubscribe@example.test"],
             subject: UnsubscribeToken.mailtoSubject(token), expected: UnsubscribeTokenTests.request),
        Case(name: "account +unsubscribe tag", recipients: ["Sales+Unsubscribe@example.test"],
             subject: UnsubscribeToken.mailtoSubject(token), expected: UnsubscribeTokenTests.request),
        Case(name: "reply prefix kept by a client", recipients: ["unsubscribe@example.test"],
             subject: "Re: unsubscribe " + token, expected: UnsubscribeTokenTests.request),
        Case(name: "token but not to an unsubscribe address", recipients: ["sales@example.test"],
             subject: UnsubscribeToken.mailtoSubject(token), expected: nil),
        Case(name: "unsubscribe address without a token", recipients: ["unsubscribe@example.test"],
             subject: "please unsubscribe me", expected: nil),
        Case(name: "forged token", recipients: ["unsubscribe@example.test"],
             subject: "unsubscribe " + String(token.dropLast(2)) + "AA", expected: nil),
        Case(name: "unsubscribe as a domain is not an unsubscribe address", recipients: ["x@unsubscribe"],
             subject: UnsubscribeToken.mailtoSubject(token), expected: nil),
    ]

    @Test(arguments: cases)
    func recognises(_ testCase: Case) {
        #expect(UnsubscribeToken.request(inMailTo: testCase.recipients, subject: testCase.subject, key: Self.key)
                == testCase.expected)
    }
}
