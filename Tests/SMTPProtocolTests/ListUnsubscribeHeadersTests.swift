// The List-Unsubscribe fields the relay adds to bulk mail: added before the header section with
// the body untouched, one-click only with https, and never beside the message's own field.

import Testing
@testable import SMTPProtocol

@Suite struct ListUnsubscribeHeadersTests {
    static let message = bytes("From: news@example.test\r\nSubject: offers\r\n\r\nbody\r\n.. dotted\r\n")

    @Test func bothLinksAndOneClick() {
        let out = ListUnsubscribeHeaders.adding(to: Self.message, mailto: "mailto:unsubscribe@example.test?subject=x",
                                                https: "https://mail.example.test/u/TOKEN")
        #expect(out == bytes("List-Unsubscribe: <mailto:unsubscribe@example.test?subject=x>,\r\n <https://mail.example.test/u/TOKEN>\r\n"
                             + "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n") + Self.message)
    }

    @Test func mailtoOnlyHasNoOneClick() {
        let out = ListUnsubscribeHeaders.adding(to: Self.message, mailto: "mailto:a+unsubscribe@example.test", https: nil)
        #expect(out == bytes("List-Unsubscribe: <mailto:a+unsubscribe@example.test>\r\n") + Self.message)
    }

    @Test(arguments: ["List-Unsubscribe: <mailto:own@example.test>\r\n", "list-unsubscribe:<https://x/y>\r\n"])
    func ownFieldIsKept(_ field: String) {
        let own = bytes("From: news@example.test\r\n" + field + "\r\nbody\r\n")
        #expect(ListUnsubscribeHeaders.adding(to: own, mailto: "mailto:u@example.test", https: "https://x/t") == nil)
    }

    @Test(arguments: ["https://x/a b", "https://x/a>b", "https://x/\u{1}"])
    func unsafeURIIsRefused(_ uri: String) {
        #expect(ListUnsubscribeHeaders.adding(to: Self.message, mailto: nil, https: uri) == nil)
    }

    @Test func bodyListUnsubscribeLineIsNotAField() {
        let message = bytes("From: news@example.test\r\n\r\nList-Unsubscribe: <mailto:fake@example.test>\r\n")
        #expect(!ListUnsubscribeHeaders.present(in: message))
    }
}
