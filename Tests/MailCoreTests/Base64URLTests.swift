// Base64url (RFC 4648 §5, unpadded): the RFC's test vectors both ways, and the strictness of decodeURL.

import Testing
@testable import MailCore

@Suite struct Base64URLTests {
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ]

    @Test(arguments: vectors.indices)
    func encodes(_ index: Int) {
        let (plain, encoded) = Self.vectors[index]
        #expect(Base64.encodeURL(Array(plain.utf8)) == Array(encoded.utf8))
    }

    @Test(arguments: vectors.indices)
    func decodes(_ index: Int) {
        let (plain, encoded) = Self.vectors[index]
        #expect(Base64.decodeURL(Array(encoded.utf8)) == Array(plain.utf8))
    }

    @Test func urlAlphabetReplacesPlusAndSlash() {
        #expect(Base64.encodeURL([0xfb, 0xff]) == Array("-_8".utf8))
    }

    @Test(arguments: ["Zm9v=", "Zg==", "+_8", "/_8", "Z", "Zm9vY", "Zh", "Zm 9v", "Zm9v\n"])
    func refuses(_ text: String) {
        #expect(Base64.decodeURL(Array(text.utf8)) == nil)
    }
}
