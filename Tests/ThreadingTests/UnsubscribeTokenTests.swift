// HMAC-SHA-256 against RFC 4231's vectors, and unsubscribe tokens: the round trip, and every way
// a token must fail (forged MAC, other key, another recipient or sender spliced in, truncation,
// non-base64url input, a wrong version).

import MailCore
import Testing
@testable import Threading

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
private func unhex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        out.append(UInt8(text[index..<next], radix: 16) ?? 0)
        index = next
    }
    return out
}

@Suite struct HMACSHA256Tests {
    struct Vector: Sendable, CustomStringConvertible {
        var name: String
        var key: [UInt8]
        var data: [UInt8]
        var mac: String
        var description: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "RFC 4231 case 1", key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8),
               mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        Vector(name: "RFC 4231 case 2", key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8),
               mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Vector(name: "RFC 4231 case 3", key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50),
               mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        Vector(name: "RFC 4231 case 6 (key longer than a block)", key: [UInt8](repeating: 0xaa, count: 131),
               data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
               mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ]

    @Test(arguments: vectors)
    func knownAnswer(_ vector: Vector) {
        #expect(hex(HMACSHA256.authenticationCode(for: vector.data, key: vector.key)) == vector.mac)
    }

    @Test func constantTimeEqualComparesEveryByte() {
        #expect(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2]))
    }
}

@Suite struct UnsubscribeTokenTests {
    static let key = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
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
