// Whole upstream sessions as transcripts: a scripted server (Postfix-like, smtp-sink-like, one
// without PIPELINING, broken ones) against SMTPClientSession. Each scenario states what the client
// writes, each message's per-recipient outcomes, how the session ends; every scenario is replayed
// with the server's bytes fed 1, 2 and 5 at a time and must give the same actions.

import Testing
import MailCore
@testable import SMTPProtocol

struct UpstreamScenario: CustomTestStringConvertible, Sendable {
    let name: String
    var configuration = clientConfig(.startTLS, salesLogin)
    let steps: [UpstreamStep]
    let written: String
    var outcomes: [[String]] = []
    var failure: SMTPSessionFailureKind? = nil
    var closed = true
    var readyCount = 0
    var testDescription: String { name }
}

let hello = "Subject: hi\r\n\r\nHello\r\n"
let helloSize = hello.utf8.count
let twoRecipients = outbound(to: ["bob@example.org", "carol@example.net"])
let threeRecipients = outbound(to: ["bob@example.org", "carol@example.net", "dave@example.com"])
let postfixAccept2 = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
let pipelined2 = "MAIL FROM:<alice@example.test> SIZE=\(helloSize)\r\nRCPT TO:<bob@example.org>\r\n"
    + "RCPT TO:<carol@example.net>\r\nDATA\r\n"
let pipelined3 = "MAIL FROM:<alice@example.test> SIZE=\(helloSize)\r\nRCPT TO:<bob@example.org>\r\n"
    + "RCPT TO:<carol@example.net>\r\nRCPT TO:<dave@example.com>\r\nDATA\r\n"
let plainSetUp: [UpstreamStep] = [.connect, .server(plainGreeting), .server(plainEHLO)]
let plainConfig = clientConfig(.none, .none)
let oneByOne2 = "MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.net>\r\n"

let upstreamScenarios: [UpstreamScenario] = [
    UpstreamScenario(
        name: "Postfix: STARTTLS, AUTH PLAIN, pipelined message, QUIT",
        steps: postfixSetUp + [.send(twoRecipients), .server(postfixAccept2),
                               .server("250 2.0.0 Ok: queued as 4XyZ12\r\n"), .quit, .server("221 2.0.0 Bye\r\n")],
        written: postfixSetUpWritten + pipelined2 + hello + ".\r\nQUIT\r\n",
        outcomes: [["sent", "sent"]], readyCount: 2),
    UpstreamScenario(
        name: "smtp-sink: AUTH advertised, no credentials, so no AUTH",
        configuration: plainConfig,
        steps: [.connect, .server(sinkGreeting), .server(sinkEHLO), .send(outbound(to: ["bob@example.org"])),
                .server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
                .server("250 2.0.0 Ok: queued as 1A2B\r\n"), .quit, .server("221 2.0.0 Bye\r\n")],
        written: "EHLO \(relayName)\r\nMAIL FROM:<alice@example.test> SIZE=\(helloSize)\r\nRCPT TO:<bob@example.org>\r\n"
            + "DATA\r\n" + hello + ".\r\nQUIT\r\n",
        outcomes: [["sent"]], readyCount: 2),
    UpstreamScenario(
        name: "no PIPELINING: one command per reply",
        configuration: plainConfig,
        steps: plainSetUp + [.send(twoRecipients), .server("250 OK\r\n"), .server("250 OK\r\n"), .server("250 OK\r\n"),
                             .server("354 go ahead\r\n"), .server("250 OK id=1rAbCd-0001Xy-2Z\r\n")],
        written: "EHLO \(relayName)\r\n" + oneByOne2 + "DATA\r\n" + hello + ".\r\n",
        outcomes: [["sent", "sent"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "STARTTLS required but not offered: fail, never downgrade",
        steps: plainSetUp, written: "EHLO \(relayName)\r\n", failure: .tlsUnavailable),
    UpstreamScenario(
        name: "STARTTLS refused with 454",
        steps: [.connect, .server(postfixGreeting), .server(postfixEHLOPlain),
                .server("454 4.7.0 TLS not available due to local problem\r\n")],
        written: "EHLO \(relayName)\r\nSTARTTLS\r\n", failure: .tlsUnavailable),
    UpstreamScenario(
        name: "TLS handshake fails (certificate not verified)",
        steps: [.connect, .server(postfixGreeting), .server(postfixEHLOPlain),
                .server("220 2.0.0 Ready to start TLS\r\n"), .tlsFails("certificate verify failed")],
        written: "EHLO \(relayName)\r\nSTARTTLS\r\n", failure: .tlsFailed),
    UpstreamScenario(
        name: "535 authentication failed",
        steps: Array(postfixSetUp.dropLast()) + [.server("535 5.7.8 Error: authentication failed: authentication failure\r\n")],
        written: postfixSetUpWritten, failure: .authenticationFailed),
    UpstreamScenario(
        name: "AUTH LOGIN when PLAIN is not offered",
        steps: [.connect, .server(postfixGreeting), .server(postfixEHLOPlain), .server("220 2.0.0 Ready\r\n"), .tlsUp,
                .server("250-mx.upstream.test\r\n250 AUTH LOGIN\r\n"), .server("334 VXNlcm5hbWU6\r\n"),
                .server("334 UGFzc3dvcmQ6\r\n"), .server("235 2.7.0 Authentication successful\r\n")],
        written: "EHLO \(relayName)\r\nSTARTTLS\r\nEHLO \(relayName)\r\nAUTH LOGIN\r\n\(base64("sales@example.test"))\r\n"
            + "\(base64("s3cret"))\r\n",
        closed: false, readyCount: 1),
    UpstreamScenario(
        name: "credentials configured, no AUTH offered",
        configuration: clientConfig(.none, salesLogin),
        steps: plainSetUp, written: "EHLO \(relayName)\r\n", failure: .authenticationUnavailable),
    UpstreamScenario(
        name: "implicit TLS with XOAUTH2 refused (334 JSON error, empty line, 535)",
        configuration: clientConfig(.implicitTLS, .xoauth2(user: "sales@example.test", token: "ya29.tok")),
        steps: [.connect, .tlsUp, .server("220 smtp.gmail.test ESMTP\r\n"),
                .server("250-smtp.gmail.test\r\n250-AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER\r\n250 PIPELINING\r\n"),
                .server("334 eyJzdGF0dXMiOiI0MDEifQ==\r\n"),
                .server("535-5.7.8 Username and Password not accepted.\r\n535 5.7.8 Learn more\r\n")],
        written: "EHLO \(relayName)\r\nAUTH XOAUTH2 \(base64("user=sales@example.test\u{1}auth=Bearer ya29.tok\u{1}\u{1}"))\r\n\r\n",
        failure: .authenticationFailed),
    UpstreamScenario(
        name: "HELO fallback when EHLO is not recognised (plain, no credentials)",
        configuration: plainConfig,
        steps: [.connect, .server(plainGreeting), .server("502 5.5.2 Error: command not recognized\r\n"),
                .server("250 old.upstream.test\r\n"), .send(outbound(to: ["bob@example.org"])), .server("250 OK\r\n")],
        written: "EHLO \(relayName)\r\nHELO \(relayName)\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.org>\r\n",
        closed: false, readyCount: 1),
    UpstreamScenario(
        name: "greeting 554 refused",
        steps: [.connect, .server("554 5.7.1 No SMTP service here\r\n")], written: "", failure: .greetingRefused),
    UpstreamScenario(
        name: "421 mid-session after one RCPT",
        configuration: plainConfig,
        steps: plainSetUp + [.send(twoRecipients), .server("250 OK\r\n"), .server("250 OK\r\n"),
                             .server("421 4.7.0 Too many errors, closing connection\r\n")],
        written: "EHLO \(relayName)\r\n" + oneByOne2,
        outcomes: [["account:rate", "account:rate"]], failure: .serviceClosing, readyCount: 1),
    UpstreamScenario(
        name: "421 shutting down during DATA",
        configuration: plainConfig,
        steps: plainSetUp + [.send(twoRecipients), .server("250 OK\r\n"), .server("550 5.1.1 no such user\r\n"),
                             .server("250 OK\r\n"), .server("421 4.3.2 Service shutting down\r\n")],
        written: "EHLO \(relayName)\r\n" + oneByOne2 + "DATA\r\n",
        outcomes: [["fail", "account:unreachable"]], failure: .serviceClosing, readyCount: 1),
    UpstreamScenario(
        name: "mixed per-recipient results, pipelined",
        steps: postfixSetUp + [.send(threeRecipients),
                               .server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <carol@example.net>: Recipient address "
                                   + "rejected: User unknown\r\n450 4.2.0 <dave@example.com>: Recipient address rejected: "
                                   + "Greylisted, try again in 5 minutes\r\n354 End data\r\n"),
                               .server("250 2.0.0 Ok: queued as Q1\r\n")],
        written: postfixSetUpWritten + pipelined3 + hello + ".\r\n",
        outcomes: [["sent", "fail", "retry"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "452 4.5.3 too many recipients without PIPELINING: the rest wait for the next transaction",
        configuration: plainConfig,
        steps: plainSetUp + [.send(threeRecipients), .server("250 OK\r\n"), .server("250 OK\r\n"),
                             .server("452 4.5.3 Error: too many recipients\r\n"), .server("354 go\r\n"),
                             .server("250 OK\r\n")],
        written: "EHLO \(relayName)\r\n" + oneByOne2 + "DATA\r\n" + hello + ".\r\n",
        outcomes: [["sent", "split", "split"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "452 4.5.3 on the first RCPT: a temporary failure, not a split that would loop",
        configuration: plainConfig,
        steps: plainSetUp + [.send(twoRecipients), .server("250 OK\r\n"),
                             .server("452 4.5.3 Error: too many recipients\r\n"),
                             .server("452 4.5.3 Error: too many recipients\r\n"), .server("250 OK\r\n")],
        written: "EHLO \(relayName)\r\n" + oneByOne2 + "RSET\r\n",
        outcomes: [["retry", "retry"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "452 too many recipients, pipelined",
        steps: postfixSetUp + [.send(threeRecipients),
                               .server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n"
                                   + "452 4.5.3 Error: too many recipients\r\n354 End data\r\n"),
                               .server("250 2.0.0 Ok: queued as Q2\r\n")],
        written: postfixSetUpWritten + pipelined3 + hello + ".\r\n",
        outcomes: [["sent", "split", "split"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "DATA refused: RSET, then ready",
        configuration: plainConfig,
        steps: plainSetUp + [.send(outbound(to: ["bob@example.org"])), .server("250 OK\r\n"), .server("250 OK\r\n"),
                             .server("451 4.3.0 Temporary lookup failure\r\n"), .server("250 2.0.0 Ok\r\n")],
        written: "EHLO \(relayName)\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nRSET\r\n",
        outcomes: [["retry"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "end of data refused as spam: no RSET needed",
        steps: postfixSetUp + [.send(twoRecipients), .server(postfixAccept2),
                               .server("550 5.7.1 Message rejected as spam\r\n")],
        written: postfixSetUpWritten + pipelined2 + hello + ".\r\n",
        outcomes: [["fail", "fail"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "every RCPT refused, pipelined: DATA refused too, RSET",
        steps: postfixSetUp + [.send(twoRecipients),
                               .server("250 2.1.0 Ok\r\n550 5.1.1 unknown\r\n550 5.1.1 unknown\r\n554 5.5.1 Error: no valid recipients\r\n"),
                               .server("250 2.0.0 Ok\r\n")],
        written: postfixSetUpWritten + pipelined2 + "RSET\r\n",
        outcomes: [["fail", "fail"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "354 although no RCPT was accepted: a lone dot, no content",
        steps: postfixSetUp + [.send(twoRecipients),
                               .server("250 2.1.0 Ok\r\n550 5.1.1 unknown\r\n550 5.1.1 unknown\r\n354 go\r\n"),
                               .server("554 5.5.1 no valid recipients\r\n")],
        written: postfixSetUpWritten + pipelined2 + ".\r\n",
        outcomes: [["fail", "fail"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "MAIL refused, pipelined: every recipient carries the MAIL reply",
        steps: postfixSetUp + [.send(twoRecipients),
                               .server("553 5.7.1 <alice@example.test>: Sender address rejected: not owned by user\r\n"
                                   + "503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n"
                                   + "503 5.5.1 Error: need RCPT command\r\n")],
        written: postfixSetUpWritten + pipelined2,
        outcomes: [["fail", "fail"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "daily sending limit on MAIL is the account's problem",
        configuration: plainConfig,
        steps: plainSetUp + [.send(twoRecipients), .server("550 5.4.5 Daily user sending limit exceeded\r\n")],
        written: "EHLO \(relayName)\r\nMAIL FROM:<alice@example.test>\r\n",
        outcomes: [["account:quota", "account:quota"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "two messages in one session",
        steps: postfixSetUp + [.send(twoRecipients), .server(postfixAccept2), .server("250 2.0.0 Ok: queued as A1\r\n"),
                               .send(outbound(from: "bob@example.test", to: ["erin@example.org"])),
                               .server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n"),
                               .server("250 2.0.0 Ok: queued as A2\r\n"), .quit, .server("221 2.0.0 Bye\r\n")],
        written: postfixSetUpWritten + pipelined2 + hello + ".\r\n"
            + "MAIL FROM:<bob@example.test> SIZE=\(helloSize)\r\nRCPT TO:<erin@example.org>\r\nDATA\r\n" + hello
            + ".\r\nQUIT\r\n",
        outcomes: [["sent", "sent"], ["sent"]], readyCount: 3),
    UpstreamScenario(
        name: "timeout waiting for the end-of-data reply",
        steps: postfixSetUp + [.send(twoRecipients), .server(postfixAccept2), .timeout],
        written: postfixSetUpWritten + pipelined2 + hello + ".\r\n",
        outcomes: [["retry", "retry"]], failure: .timeout(.dataTermination), readyCount: 1),
    UpstreamScenario(
        name: "connection lost between RCPTs",
        configuration: plainConfig,
        steps: plainSetUp + [.send(twoRecipients), .server("250 OK\r\n"), .closed],
        written: "EHLO \(relayName)\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.org>\r\n",
        outcomes: [["retry", "retry"]], failure: .connectionLost, readyCount: 1),
    UpstreamScenario(
        name: "greeting timeout", steps: [.connect, .timeout], written: "", failure: .timeout(.greeting)),
    UpstreamScenario(
        name: "connect fails", steps: [.closed], written: "", failure: .connectionLost),
    UpstreamScenario(
        name: "idle session closed by the server: close, no failure",
        configuration: plainConfig, steps: plainSetUp + [.closed], written: "EHLO \(relayName)\r\n", readyCount: 1),
    UpstreamScenario(
        name: "unsolicited 421 while idle",
        configuration: plainConfig, steps: plainSetUp + [.server("421 4.4.2 old.upstream.test Error: timeout exceeded\r\n")],
        written: "EHLO \(relayName)\r\n", failure: .serviceClosing, readyCount: 1),
    UpstreamScenario(
        name: "quit in the middle of a transaction",
        configuration: plainConfig,
        steps: plainSetUp + [.send(twoRecipients), .server("250 OK\r\n"), .quit],
        written: "EHLO \(relayName)\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.org>\r\n",
        outcomes: [["account:unreachable", "account:unreachable"]], readyCount: 1),
    UpstreamScenario(
        name: "message over the advertised SIZE fails before MAIL (5.3.4)",
        configuration: plainConfig,
        steps: [.connect, .server(plainGreeting), .server("250-small.test\r\n250 SIZE 10\r\n"),
                .send(outbound(to: ["bob@example.org"]))],
        written: "EHLO \(relayName)\r\n", outcomes: [["fail"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "SMTPUTF8 address but SMTPUTF8 not offered (5.6.7)",
        configuration: plainConfig,
        steps: plainSetUp + [.send(outbound(to: ["jörg@example.de"]))],
        written: "EHLO \(relayName)\r\n", outcomes: [["fail"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "recipient with CRLF in it is refused locally, the others go",
        configuration: plainConfig,
        steps: plainSetUp + [.send(outbound(to: ["bob\r\nRSET@example.org", "carol@example.net"])),
                             .server("250 OK\r\n"), .server("250 OK\r\n"), .server("354 go\r\n"), .server("250 OK\r\n")],
        written: "EHLO \(relayName)\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n"
            + hello + ".\r\n",
        outcomes: [["fail", "sent"]], closed: false, readyCount: 2),
    UpstreamScenario(
        name: "send before the session is ready",
        configuration: plainConfig,
        steps: [.connect, .send(outbound(to: ["bob@example.org"])), .server(plainGreeting)],
        written: "EHLO \(relayName)\r\n", outcomes: [["account:unreachable"]], closed: false),
]

@Suite struct ClientTranscriptTests {
    @Test(arguments: upstreamScenarios)
    func writes(_ scenario: UpstreamScenario) {
        let driver = upstreamTranscript(scenario.configuration, scenario.steps)
        #expect(driver.written == scenario.written)
    }

    @Test(arguments: upstreamScenarios)
    func outcomes(_ scenario: UpstreamScenario) {
        let driver = upstreamTranscript(scenario.configuration, scenario.steps)
        #expect(driver.results.indices.map { driver.outcomes($0) } == scenario.outcomes)
    }

    @Test(arguments: upstreamScenarios)
    func ending(_ scenario: UpstreamScenario) {
        let driver = upstreamTranscript(scenario.configuration, scenario.steps)
        #expect(driver.failure?.kind == scenario.failure)
        #expect(driver.closed == scenario.closed)
        #expect(driver.readyCount == scenario.readyCount)
    }

    @Test(arguments: upstreamScenarios, [1, 2, 5])
    func sameActionsForAnyChunking(_ scenario: UpstreamScenario, chunkSize: Int) {
        let whole = upstreamTranscript(scenario.configuration, scenario.steps)
        let chunked = upstreamTranscript(scenario.configuration, scenario.steps, chunkSize: chunkSize)
        #expect(chunked.actions == whole.actions)
    }
}
