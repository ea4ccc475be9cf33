// Deterministic fuzzing: random input drawn from the IMAP alphabet (tags,
// literals, quotes, CRLF, NUL, commands) must never crash the framer, the
// pre-login session or the upstream login, and must give the same result
// whole and byte by byte.
import Testing
@testable import IMAPProtocol

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let clientAlphabet = ["a ", "b1 ", "LOGIN ", "AUTHENTICATE PLAIN ", "STARTTLS", "ID ", "NOOP", "CAPABILITY", "LOGOUT",
                      "{", "}", "+", "-", "~", "0", "4", "9", "\r\n", "\n", "\r", "\"", "\\", "(", ")", " ", "*", "\u{0}",
                      "NIL", "alice", "secret", plainAliceSecret, "=", "[", "]", "\u{FF}", "{4097+}\r\n", "{3}\r\n"]
let serverAlphabet = ["* ", "M1 ", "M2 ", "M3 ", "+ ", "OK ", "NO ", "BAD ", "BYE ", "[CAPABILITY ", "]", "IMAP4rev1 ",
                      "STARTTLS ", "AUTH=PLAIN ", "ID ", "SASL-IR ", "LOGINDISABLED ", "LITERAL+ ", "{", "}", "5", "\r\n",
                      "text ", "\u{0}", "PREAUTH "]

func randomInput(_ alphabet: [String], seed: UInt64, count: Int) -> [UInt8] {
    var generator = SplitMix64(state: seed)
    var out: [UInt8] = []
    for _ in 0..<count {
        out += Array(alphabet[Int(generator.next() % UInt64(alphabet.count))].utf8)
    }
    return out
}

@Test(arguments: 0..<40)
func fuzzFramerAndSession(_ seed: Int) {
    let input = randomInput(clientAlphabet, seed: UInt64(seed), count: 400)
    #expect(frameAll(input, chunkSize: 1) == frameAll(input, chunkSize: nil))
    for implicitTLS in [false, true] {
        let whole = preLogin([.clientBytes(input), .tlsUp, .clientBytes(input)], implicitTLS: implicitTLS)
        let bytewise = preLogin([.clientBytes(input), .tlsUp, .clientBytes(input)], implicitTLS: implicitTLS, chunkSize: 1)
        #expect(bytewise.actionsWithoutRelayBytes == whole.actionsWithoutRelayBytes)
        #expect(bytewise.forwarded == whole.forwarded)
    }
}

@Test(arguments: 0..<40)
func fuzzUpstreamLogin(_ seed: Int) {
    let input = randomInput(serverAlphabet, seed: UInt64(seed) &+ 1000, count: 300)
    for security in [IMAPUpstreamLoginConfiguration.Security.startTLS, .implicitTLS] {
        var whole = IMAPUpstreamLogin(configuration: configuration(security))
        var bytewise = whole
        let wholeActions = whole.receive(input)
        var bytewiseActions: [IMAPUpstreamLoginAction] = []
        for byte in input where !bytewise.isFinished {
            bytewiseActions += bytewise.receive([byte])
        }
        // Whole-chunk feeding hands leftover bytes over at once; compare without them.
        #expect(bytewiseActions.map(withoutPending) == wholeActions.map(withoutPending))
    }
}

func withoutPending(_ action: IMAPUpstreamLoginAction) -> IMAPUpstreamLoginAction {
    if case .loggedIn(let capabilities, _) = action { return .loggedIn(capabilities: capabilities, pendingServerBytes: []) }
    return action
}
