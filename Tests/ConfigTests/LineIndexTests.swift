// The line index maps dotted keys to lines across headers, arrays of tables,
// dotted keys, quoted keys, multi-line strings and arrays, and inline tables;
// it terminates on any input (random bytes fed in as a crude fuzz).
import Testing
@testable import Config

private let document = """
    # comment [not.a.table]
    title = "a # not a comment"   # 2
    [server]
    hostname = "x"                # 4
    text = \"\"\"
    [fake]
    key = 1
    \"\"\"
    after = 1                     # 9
    [[account]]                   # 10
    name = "a"
    limits = { per_hour = 5, per_day = 6 }
    [[account]]                   # 13
    name = "b"
    limits.per_minute = 3         # 15
    list = [
      "one",                      # 17
      # comment
      { k = 1 },                  # 19
      [1, 2],                     # 20
    ]
    [account.extra]               # 22
    "quoted key" = 'lit'          # 23
    [ a . "b.c" ]                 # 24
    d = '''
    e = 1
    '''
    f = 2                         # 28
    """

@Suite struct LineIndexTests {
    let index = LineIndex(text: document)

    @Test(arguments: [
        ("title", 2), ("server", 3), ("server.hostname", 4), ("server.text", 5), ("server.after", 9),
        ("account[0]", 10), ("account[0].name", 11), ("account[0].limits", 12), ("account[0].limits.per_day", 12),
        ("account[1]", 13), ("account[1].name", 14), ("account[1].limits.per_minute", 15),
        ("account[1].list", 16), ("account[1].list[0]", 17), ("account[1].list[1]", 19),
        ("account[1].list[1].k", 19), ("account[1].list[2]", 20), ("account[1].list[2][1]", 20),
        ("account[1].extra", 22),
    ] as [(String, Int)])
    func exactLines(path: String, line: Int) {
        #expect(index.exactLine(of: ConfigKeyPath(stringLiteral: path)) == line)
    }

    @Test func quotedKeys() {
        #expect(index.exactLine(of: ConfigKeyPath([.key("account"), .index(1), .key("extra"), .key("quoted key")])) == 23)
        #expect(index.exactLine(of: ConfigKeyPath([.key("a"), .key("b.c")])) == 24)
        #expect(index.exactLine(of: ConfigKeyPath([.key("a"), .key("b.c"), .key("f")])) == 28)
    }

    @Test func nothingInsideMultilineStrings() {
        #expect(index.exactLine(of: "fake") == nil)
        #expect(index.exactLine(of: ConfigKeyPath([.key("a"), .key("b.c"), .key("e")])) == nil)
    }

    @Test func unknownPathFallsBackToItsNearestAncestor() {
        #expect(index.line(of: "account[1].limits.per_hour") == 15)
        #expect(index.line(of: "server.missing") == 3)
        #expect(index.line(of: "nowhere.at.all") == nil)
    }

    @Test func renderedPathsQuoteOddKeys() {
        #expect(ConfigKeyPath([.key("a"), .key("b.c"), .index(2), .key("d")]).description == "a.\"b.c\"[2].d")
        #expect(ConfigKeyPath(stringLiteral: "account[2].limits.per_hour").description == "account[2].limits.per_hour")
    }

    @Test func terminatesOnArbitraryBytes() {
        var generator = SplitMix(seed: 42)
        let alphabet = Array("[]{}=\"'#,.\n\\ ab1".utf8)
        for _ in 0..<2000 {
            let length = Int(generator.next() % 80)
            let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            _ = LineIndex(text: String(decoding: bytes, as: UTF8.self))
        }
        #expect(LineIndex(text: "[[[[").line(of: "x") == nil)
    }
}

/// A small deterministic generator so the fuzz inputs are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
