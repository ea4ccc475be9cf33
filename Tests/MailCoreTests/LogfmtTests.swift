import MailCore
import Testing

@Suite struct LogfmtTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("two words", "\"two words\""),
        ("", "\"\""),
        ("a=b", "\"a=b\""),
        ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ("line\r\nbreak", "\"line\\r\\nbreak\""),
        ("back\\slash", "\"back\\\\slash\""),
        ("nul\u{0}", "\"nul\\u0000\""),
        ("esc\u{1B}[31m", "\"esc\\u001b[31m\""),
        ("ünïcode", "ünïcode"),
    ])
    func valuesAreQuotedOnlyWhenNeeded(value: String, rendered: String) {
        #expect(Logfmt.line([("k", value)]) == "k=\(rendered)")
    }

    @Test func fieldsKeepTheirOrderAndKeysStayOneToken() {
        #expect(Logfmt.line([("level", "info"), ("queue id", "A1"), ("msg", "accepted")])
            == "level=info queue_id=A1 msg=accepted")
    }
}
