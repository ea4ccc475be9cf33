// HMAC-SHA256 against the RFC 4231 test vectors (short, long and block-sized
// keys, long data), against Python's hmac module for the webhook shape, and
// the comparison unsubscribe tokens use.
import Testing
import Threading

private func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
        index = next
    }
    return out
}

@Suite struct HMACSHA256Tests {
    @Test(arguments: [
        ("RFC 4231 case 1", String(repeating: "0b", count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        ("RFC 4231 case 2", "4a656665", Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ("RFC 4231 case 3", String(repeating: "aa", count: 20), [UInt8](repeating: 0xdd, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        ("RFC 4231 case 4", "0102030405060708090a0b0c0d0e0f10111213141516171819", [UInt8](repeating: 0xcd, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ("RFC 4231 case 6 (key longer than a block)", String(repeating: "aa", count: 131),
         Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ("RFC 4231 case 7 (long key and data)", String(repeating: "aa", count: 131),
         Array(("This is a test using a larger than block-size key and a larger than block-size data. "
                + "The key needs to be hashed before being used by the HMAC algorithm.").utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec",b"1700000000.{\"id\": \"1\"}",hashlib.sha256).hexdigest())'
        ("webhook shape", "7768736563", Array(#"1700000000.{"id": "1"}"#.utf8),
         "5b974005f99eee737174f08897681a60896927425ee34e0c9ae2f7b5e2b22e08"),
        // python3 -c 'import hmac,hashlib;print(hmac.new(bytes([0x42]*64),b"",hashlib.sha256).hexdigest())'
        ("block-sized key, empty message", String(repeating: "42", count: 64), [],
         "bf64e6883dbe3b4b2668390800cedbf8d96dce1b3a66688efd3d75593f3eeed0"),
    ] as [(String, String, [UInt8], String)])
    func vectors(name: String, keyHex: String, message: [UInt8], expected: String) {
        #expect(HMACSHA256.hex(for: message, key: bytes(hex: keyHex)) == expected, "\(name)")
    }

    @Test func constantTimeEqualComparesEveryByte() {
        #expect(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2]))
    }
}
