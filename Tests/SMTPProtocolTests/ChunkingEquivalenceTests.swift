// The same transcript fed all at once, byte by byte and in odd chunk sizes yields the same action
// sequence; and a fuzz run (submission and inbound policies): 10,000 random byte strings over the SMTP alphabet never crash, never
// produce output after .close, every reply is well-formed, and chunking never changes the output.

import Testing
import MailCore
@testable import SMTPProtocol

private let transcripts: [(name: String, steps: [Step], policy: SMTPServerPolicy)] = [
    ("full session", [.client(authPrelude + "MAIL FROM:<alice@example.test> SIZE=200\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
                              + simpleMessage + "..dot\r\n.\r\nQUIT\r\n")], makePolicy()),
    ("two pipelined messages", [.client(authPrelude + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n"
                                        + simpleMessage + ".\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<b@example.org>\r\nBDAT "
                                        + "\(simpleMessage.utf8.count) LAST\r\n" + simpleMessage + "RSET\r\n")], makePolicy()),
    ("login and errors", [.client("EHLO c\r\nXX\r\nAUTH LOGIN\r\n\(base64("alice"))\r\n\(base64("secret"))\r\nMAIL FROM:<>\r\nHELP\r\n")], makePolicy()),
    ("starttls", [.client("EHLO c\r\nSTARTTLS\r\nRSET\r\n"), .tlsUp, .client(authPrelude + "NOOP\r\n")], makePolicy(implicitTLS: false)),
    ("smuggling", [.client(authPrelude + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
                           + simpleMessage + "\n.\nRSET\r\n.\r\nNOOP\r\n")], makePolicy()),
    ("long lines", [.client("NOOP " + String(repeating: "z", count: 1500) + "\r\nNOOP\r\n")], makePolicy()),
    ("oversized data", [.client(authPrelude + "MAIL FROM:<alice@example.test>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
                                + String(repeating: "From: alice@example.test\r\n", count: 500) + ".\r\nNOOP\r\n")], makePolicy()),
]

@Suite struct ChunkingEquivalenceTests {
    @Test(arguments: transcripts.indices)
    func sameActionsForAnyChunking(_ index: Int) {
        let item = transcripts[index]
        let whole = transcript(item.steps, policy: item.policy, chunkSize: 0)
        for chunkSize in [1, 2, 3, 7, 64, 1000] {
            let chunked = transcript(item.steps, policy: item.policy, chunkSize: chunkSize)
            #expect(chunked.actions == whole.actions, "\(item.name) in chunks of \(chunkSize)")
        }
    }
}

/// Random sessions over the characters SMTP parsers care about, with the odd valid command.
private func randomInput(_ random: inout SplitMix64) -> [UInt8] {
    let alphabet = bytes("\r\n\r\n. :<>@=\"\\AMLTXZ0129ab") + [0, 0xC3, 0xA5, 0x80]
    let words = ["EHLO x\r\n", "HELO x\r\n", "MAIL FROM:<alice@example.test>\r\n", "RCPT TO:<b@example.org>\r\n",
                 "DATA\r\n", "BDAT 5\r\n", "BDAT 3 LAST\r\n", "\r\n.\r\n", "RSET\r\n", "AUTH PLAIN \(plainAlice)\r\n",
                 "AUTH LOGIN\r\n", "*\r\n", "STARTTLS\r\n", "From: alice@example.test\r\n\r\n", "NOOP\r\n",
                 "MAIL FROM:<>\r\n", "RCPT TO:<alice@example.test>\r\n"]
    var out: [UInt8] = []
    let length = Int(random.next() % 200)
    while out.count < length {
        if random.next() % 4 == 0 {
            out.append(contentsOf: bytes(words[Int(random.next() % UInt64(words.count))]))
        } else {
            out.append(alphabet[Int(random.next() % UInt64(alphabet.count))])
        }
    }
    return out
}

private func wellFormed(_ actions: [SMTPAction]) -> Bool {
    var sawClose = false
    for action in actions {
        if sawClose { return false }
        switch action {
        case .close:
            sawClose = true
        case .send(let data):
            guard data.count >= 5, data.suffix(2) == [13, 10], data.prefix(3).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
            else { return false }
        case .startTLS, .authenticate, .authenticationResponse, .authenticationCancelled, .commit, .deliver, .log:
            break
        }
    }
    return true
}

@Suite struct FuzzTests {
    @Test func randomInputNeverBreaksTheSession() {
        var random = SplitMix64(state: 0x5EED)
        var failures = 0
        for round in 0..<10_000 {
            let input = randomInput(&random)
            let policy = round % 4 == 3 ? inboundPolicy(maxRecipients: 3, maxJunk: 5)
                : makePolicy(implicitTLS: round % 3 != 0, trusted: round % 5 == 0 ? appUser : nil,
                             maxMessageSize: 300, maxRecipients: 3, maxJunk: 5)
            let whole = transcript([.clientBytes(input), .tlsUp, .clientBytes(input)], policy: policy)
            let chunk = Int(random.next() % 13) + 1
            let pieces = transcript([.clientBytes(input), .tlsUp, .clientBytes(input)], policy: policy, chunkSize: chunk)
            if whole.actions != pieces.actions || !wellFormed(whole.actions) { failures += 1 }
            if failures > 0 {
                Issue.record("round \(round): input \(input) chunk \(chunk)")
                break
            }
        }
        #expect(failures == 0)
    }
}
