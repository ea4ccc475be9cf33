import Auth
import Testing

@Suite struct PasswordHashTests {
    @Test(arguments: [PasswordHash.Scheme.yescrypt, .sha512])
    func hashVerifiesItsPasswordOnly(scheme: PasswordHash.Scheme) throws {
        let hash = try PasswordHash.make("correct horse", scheme: scheme)
        #expect(hash.hasPrefix(scheme == .yescrypt ? "$y$" : "$6$"))
        #expect(PasswordHash.verify("correct horse", against: hash))
        #expect(!PasswordHash.verify("correct horsE", against: hash))
        #expect(!PasswordHash.verify("", against: hash))
    }

    @Test func saltsDiffer() throws {
        #expect(try PasswordHash.make("x") != PasswordHash.make("x"))
    }

    @Test(arguments: ["", "plain", "$1$abc$def", "*", "$y$", "$6$rounds=1$"])
    func malformedHashesNeverVerify(hash: String) {
        #expect(!PasswordHash.verify("plain", against: hash))
    }

    @Test func knownVectorFromTheSystemCrypt() {
        // Made with Python: crypt.crypt("secret", "$6$saltsaltsalt")
        #expect(PasswordHash.verify("secret", against:
            "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts."))
    }
}
