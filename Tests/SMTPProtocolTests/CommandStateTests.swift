// Every command in every session state: a table of (state prelude, command, expected reply code
// with enhanced status). States: fresh, greeted on the STARTTLS port before TLS, greeted under TLS,
// after HELO, authenticated, in a transaction, with a recipient, trusted network.

import Testing
import MailCore
@testable import SMTPProtocol

struct StateCase: CustomTestStringConvertible, Sendable {
    let state: String
    let command: String
    let expected: String
    var testDescription: String { "[\(state)] \(command.prefix(40)) -> \(expected)" }
}

enum SessionState: String, CaseIterable {
    case fresh, plainGreeted, tlsGreeted, helo, authenticated, inTransaction, withRecipient, trustedPlain

    var policy: SMTPServerPolicy {
        switch self {
        case .plainGreeted: makePolicy(implicitTLS: false)
        case .trustedPlain: makePolicy(implicitTLS: false, trusted: appUser)
        case .fresh, .tlsGreeted, .helo, .authenticated, .inTransaction, .withRecipient: makePolicy()
        }
    }

    var prelude: String {
        switch self {
        case .fresh: ""
        case .plainGreeted, .tlsGreeted, .trustedPlain: "EHLO client.test\r\n"
        case .helo: "HELO client.test\r\n"
        case .authenticated: authPrelude
        case .inTransaction: authPrelude + "MAIL FROM:<alice@example.test>\r\n"
        case .withRecipient: authPrelude + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.org>\r\n"
        }
    }
}

/// Expected first reply to `command` in each state, in SessionState.allCases order.
let commandMatrix: [(command: String, expected: [String])] = [
    //                                  fresh        plainGreeted  tlsGreeted   helo         authenticated inTransaction withRecipient trustedPlain
    ("EHLO other.test",                ["250",       "250",        "250",       "250",       "250",        "250",        "250",        "250"]),
    ("HELO other.test",                ["250",       "250",        "250",       "250",       "250",        "250",        "250",        "250"]),
    ("EHLO",                           ["501 5.5.4", "501 5.5.4",  "501 5.5.4", "501 5.5.4", "501 5.5.4",  "501 5.5.4",  "501 5.5.4",  "501 5.5.4"]),
    ("STARTTLS",                       ["503 5.5.1", "220 2.0.0",  "503 5.5.1", "503 5.5.1", "503 5.5.1",  "503 5.5.1",  "503 5.5.1",  "220 2.0.0"]),
    ("AUTH PLAIN \(plainAlice)",       ["503 5.5.1", "538 5.7.11", "235 2.7.0", "503 5.5.1", "503 5.5.1",  "503 5.5.1",  "503 5.5.1",  "538 5.7.11"]),
    ("AUTH CRAM-MD5",                  ["503 5.5.1", "538 5.7.11", "504 5.5.4", "503 5.5.1", "503 5.5.1",  "503 5.5.1",  "503 5.5.1",  "538 5.7.11"]),
    ("MAIL FROM:<alice@example.test>", ["503 5.5.1", "530 5.7.0",  "530 5.7.0", "530 5.7.0", "250 2.1.0",  "503 5.5.1",  "503 5.5.1",  "250 2.1.0"]),
    ("RCPT TO:<bob@example.org>",      ["503 5.5.1", "503 5.5.1",  "503 5.5.1", "503 5.5.1", "503 5.5.1",  "250 2.1.5",  "250 2.1.5",  "503 5.5.1"]),
    ("DATA",                           ["503 5.5.1", "503 5.5.1",  "503 5.5.1", "503 5.5.1", "503 5.5.1",  "554 5.5.1",  "354",        "503 5.5.1"]),
    ("DATA now",                       ["501 5.5.4", "501 5.5.4",  "501 5.5.4", "501 5.5.4", "501 5.5.4",  "501 5.5.4",  "501 5.5.4",  "501 5.5.4"]),
    ("BDAT 0",                         ["503 5.5.1", "503 5.5.1",  "503 5.5.1", "503 5.5.1", "503 5.5.1",  "554 5.5.1",  "250 2.0.0",  "503 5.5.1"]),
    ("BDAT x",                         ["421 4.5.4", "421 4.5.4",  "421 4.5.4", "421 4.5.4", "421 4.5.4",  "421 4.5.4",  "421 4.5.4",  "421 4.5.4"]),
    ("RSET",                           ["250 2.0.0", "250 2.0.0",  "250 2.0.0", "250 2.0.0", "250 2.0.0",  "250 2.0.0",  "250 2.0.0",  "250 2.0.0"]),
    ("RSET now",                       ["501 5.5.4", "501 5.5.4",  "501 5.5.4", "501 5.5.4", "501 5.5.4",  "501 5.5.4",  "501 5.5.4",  "501 5.5.4"]),
    ("NOOP",                           ["250 2.0.0", "250 2.0.0",  "250 2.0.0", "250 2.0.0", "250 2.0.0",  "250 2.0.0",  "250 2.0.0",  "250 2.0.0"]),
    ("NOOP anything goes",             ["250 2.0.0", "250 2.0.0",  "250 2.0.0", "250 2.0.0", "250 2.0.0",  "250 2.0.0",  "250 2.0.0",  "250 2.0.0"]),
    ("VRFY bob",                       ["252 2.5.0", "252 2.5.0",  "252 2.5.0", "252 2.5.0", "252 2.5.0",  "252 2.5.0",  "252 2.5.0",  "252 2.5.0"]),
    ("VRFY",                           ["501 5.5.4", "501 5.5.4",  "501 5.5.4", "501 5.5.4", "501 5.5.4",  "501 5.5.4",  "501 5.5.4",  "501 5.5.4"]),
    ("HELP",                           ["214 2.0.0", "214 2.0.0",  "214 2.0.0", "214 2.0.0", "214 2.0.0",  "214 2.0.0",  "214 2.0.0",  "214 2.0.0"]),
    ("EXPN staff",                     ["502 5.5.1", "502 5.5.1",  "502 5.5.1", "502 5.5.1", "502 5.5.1",  "502 5.5.1",  "502 5.5.1",  "502 5.5.1"]),
    ("XYZZY",                          ["500 5.5.2", "500 5.5.2",  "500 5.5.2", "500 5.5.2", "500 5.5.2",  "500 5.5.2",  "500 5.5.2",  "500 5.5.2"]),
    ("Subject: a header as a command", ["500 5.5.2", "500 5.5.2",  "500 5.5.2", "500 5.5.2", "500 5.5.2",  "500 5.5.2",  "500 5.5.2",  "500 5.5.2"]),
    ("GET / HTTP/1.1",                 ["421 4.7.0", "421 4.7.0",  "421 4.7.0", "421 4.7.0", "421 4.7.0",  "421 4.7.0",  "421 4.7.0",  "421 4.7.0"]),
    ("QUIT",                           ["221 2.0.0", "221 2.0.0",  "221 2.0.0", "221 2.0.0", "221 2.0.0",  "221 2.0.0",  "221 2.0.0",  "221 2.0.0"]),
    ("",                               ["500 5.5.2", "500 5.5.2",  "500 5.5.2", "500 5.5.2", "500 5.5.2",  "500 5.5.2",  "500 5.5.2",  "500 5.5.2"]),
]

let stateCases: [StateCase] = commandMatrix.flatMap { row in
    zip(SessionState.allCases, row.expected).map { StateCase(state: $0.0.rawValue, command: row.command, expected: $0.1) }
}

@Suite struct CommandStateTests {
    @Test(arguments: stateCases)
    func commandInState(_ testCase: StateCase) {
        guard let state = SessionState(rawValue: testCase.state) else {
            Issue.record("unknown state \(testCase.state)")
            return
        }
        var driver = SessionDriver(policy: state.policy)
        driver.run([.client(state.prelude)])
        let before = driver.replies.count
        driver.run([.client(testCase.command + "\r\n")])
        #expect(driver.codes.dropFirst(before).first == testCase.expected)
    }

    @Test func preludesSucceed() {
        for state in SessionState.allCases {
            let driver = transcript([.client(state.prelude)], policy: state.policy)
            #expect(driver.codes.allSatisfy { $0.hasPrefix("2") }, "\(state)")
        }
    }

    @Test func greetingNamesHost() {
        let session = SMTPServerSession(policy: makePolicy())
        #expect(session.start() == [.send(bytes("220 mx.example.test ESMTP mailgate\r\n"))])
    }

    @Test func quitClosesAndIgnoresTheRest() {
        let driver = transcript([.client("QUIT\r\nNOOP\r\n"), .client("NOOP\r\n")])
        #expect(driver.replies == ["221 2.0.0 Bye"])
        #expect(driver.actions.last == .close)
    }

    @Test func heloClientsCannotUseExtensions() {
        let cases: [(String, String)] = [
            ("MAIL FROM:<x@example.test> SIZE=10", "555 5.5.4"),
            ("BDAT 3 LAST", "503 5.5.1"),
            ("AUTH PLAIN \(plainAlice)", "503 5.5.1"),
        ]
        for (command, expected) in cases {
            let driver = transcript([.client("HELO c\r\n" + command + "\r\nabc")], policy: makePolicy(trusted: appUser))
            #expect(driver.codes.dropFirst().first == expected, "\(command)")
        }
    }

    @Test func startTLSWithoutCertificateIsTemporaryFailure() {
        let driver = transcript([.client("EHLO c\r\nSTARTTLS\r\n")], policy: makePolicy(implicitTLS: false, tlsAvailable: false))
        #expect(driver.codes.last == "454 4.7.0")
    }

    @Test func receivingMessageFlagFollowsDataAndBDAT() {
        var driver = SessionDriver()
        driver.run([.client(authPrelude + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")])
        #expect(driver.session.isReceivingMessage)
        driver.run([.client(simpleMessage + ".\r\n")])
        #expect(!driver.session.isReceivingMessage)
    }

    @Test func bareLFEndsCommandLines() {
        let driver = transcript([.client("NOOP\nHELP\n")])
        #expect(driver.codes == ["250 2.0.0", "214 2.0.0"])
    }

    @Test func ehloResetsTransaction() {
        let driver = transcript([.client(authPrelude + "MAIL FROM:<alice@example.test>\r\nEHLO again\r\nRCPT TO:<b@example.org>\r\n")])
        #expect(driver.codes.last == "503 5.5.1")
    }

    @Test func rsetResetsTransaction() {
        let driver = transcript([.client(authPrelude + "MAIL FROM:<alice@example.test>\r\nRSET\r\nMAIL FROM:<alice@example.test>\r\n")])
        #expect(driver.codes.suffix(2) == ["250 2.0.0", "250 2.1.0"])
    }

    @Test func timeoutsCloseWith421() {
        for kind in [SMTPTimeout.idle, .session] {
            let driver = transcript([.client("EHLO c\r\n"), .timeout(kind)])
            #expect(driver.codes.last == "421 4.4.2")
            #expect(driver.actions.last == .close)
        }
    }

    @Test func timeoutDuringTLSHandshakeClosesWithoutPlaintext() {
        let driver = transcript([.client("EHLO c\r\nSTARTTLS\r\n"), .timeout(.idle)], policy: makePolicy(implicitTLS: false))
        #expect(driver.codes.last == "220 2.0.0")
        #expect(driver.actions.last == .close)
    }

    @Test func eventsAfterCloseDoNothing() {
        var driver = transcript([.client("QUIT\r\n")])
        #expect(driver.session.receive(bytes("NOOP\r\n")).isEmpty)
        #expect(driver.session.timeout(.idle).isEmpty)
        #expect(driver.session.messageCommitted(queueID: "x").isEmpty)
        #expect(driver.session.tlsEstablished().isEmpty)
    }
}
