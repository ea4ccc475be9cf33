// MailCore values: send-as pattern parsing and matching (domain case-insensitive, local part
// exact), priority class names, ordering and the RFC 6710 MT-PRIORITY mapping.

import MailCore
import Testing

@Suite struct SendAsPatternTests {
    static let parses: [(String, SendAsPattern?)] = [
        ("*@Example.Test", .anyAtDomain("example.test")),
        ("sales@Example.Test", .exact(localPart: "sales", domain: "example.test")),
        ("\"a@b\"@example.test", nil), ("a*@example.test", nil), ("a@exa mple.test", nil),
        ("no-at-sign", nil), ("@example.test", nil), ("user@", nil),
    ]

    @Test(arguments: parses)
    func parse(_ testCase: (String, SendAsPattern?)) {
        #expect(SendAsPattern(testCase.0) == testCase.1)
    }

    static let matches: [(pattern: String, address: MailboxAddress, expected: Bool)] = [
        ("*@example.test", MailboxAddress(localPart: "anyone", domain: "EXAMPLE.test"), true),
        ("*@example.test", MailboxAddress(localPart: "anyone", domain: "sub.example.test"), false),
        ("*@example.test", MailboxAddress(localPart: "x", domain: "example.test.evil"), false),
        ("sales@example.test", MailboxAddress(localPart: "sales", domain: "Example.Test"), true),
        ("sales@example.test", MailboxAddress(localPart: "Sales", domain: "example.test"), false),
        ("sales@example.test", MailboxAddress(localPart: "sales2", domain: "example.test"), false),
    ]

    @Test(arguments: matches)
    func match(_ testCase: (pattern: String, address: MailboxAddress, expected: Bool)) {
        #expect(SendAsPattern(testCase.pattern)?.matches(testCase.address) == testCase.expected)
    }

    @Test func addressRendering() {
        #expect(MailboxAddress(localPart: "\"john doe\"", domain: "example.org").description == "\"john doe\"@example.org")
        #expect(!MailboxAddress(localPart: "bøb", domain: "example.org").isASCII)
    }
}

@Suite struct MessagePriorityTests {
    @Test func ordering() {
        #expect(MessagePriority.allCases.sorted() == [.bulk, .low, .normal, .high, .critical])
    }

    static let names: [(String, MessagePriority?)] = [
        ("critical", .critical), (" High\t", .high), ("NORMAL", .normal), ("low", .low), ("bulk", .bulk),
        ("urgent", nil), ("", nil), ("hi gh", nil),
    ]

    @Test(arguments: names)
    func parseName(_ testCase: (String, MessagePriority?)) {
        #expect(MessagePriority(name: testCase.0) == testCase.1)
    }

    @Test func namesRoundTrip() {
        for priority in MessagePriority.allCases {
            #expect(MessagePriority(name: priority.name) == priority)
        }
    }

    @Test func mtPriorityCoversTheWholeRange() {
        let classes = (-9...9).map(MessagePriority.init(mtPriority:))
        #expect(classes == classes.sorted())
        #expect(classes.first == .bulk)
        #expect(classes.last == .critical)
        #expect(MessagePriority(mtPriority: 0) == .normal)
    }
}

@Suite struct QueueColumnTests {
    @Test(arguments: [
        (MessagePriority.critical, Int16(0)), (.high, 1), (.normal, 2), (.low, 3), (.bulk, 4),
    ])
    func queueColumnFollowsMigration0002(priority: MessagePriority, column: Int16) {
        #expect(priority.queueColumnValue == column)
        #expect(MessagePriority(queueColumnValue: column) == priority)
    }

    @Test(arguments: [Int16(-1), 5, .max])
    func queueColumnOutOfRangeIsRefused(column: Int16) {
        #expect(MessagePriority(queueColumnValue: column) == nil)
    }
}
