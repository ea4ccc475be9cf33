// Coverage-guided fuzzing of the SMTP server session (submission and inbound
// mode, STARTTLS and implicit TLS, a trusted user or AUTH whose verdict the
// input picks, commits that succeed or fail). Byte 0 picks the options, byte 1
// the size of the pieces the rest is fed in.
import MailCore
import SMTPProtocol

let user = SMTPUserIdentity(name: "alice", sendAs: [SendAsPattern("alice@example.test")].compactMap { $0 })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let mode = data[0]
    let pieceSize = Int(data[1] % 31) + 1
    let input = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    let policy = SMTPServerPolicy(hostname: "mx.example.test", maxMessageSize: 4096, maxRecipients: 5, maxLineLength: 200,
                                  maxAuthLineLength: 300, maxJunkCommands: 5, maxPendingInput: 2048,
                                  implicitTLS: mode & 1 != 0, tlsAvailable: mode & 2 != 0,
                                  trustedUser: mode & 4 != 0 ? user : nil,
                                  inbound: mode & 8 != 0 ? SMTPInboundPolicy(domains: ["example.test"]) : nil,
                                  clock: { 1_800_000_000 })
    var session = SMTPServerSession(policy: policy)
    var steps = 0
    func run(_ actions: [SMTPAction]) {
        var queue = actions
        while !queue.isEmpty, steps < 10_000 {
            steps += 1
            switch queue.removeFirst() {
            case .startTLS: queue += session.tlsEstablished()
            case .authenticate, .authenticationResponse:
                let verdict = (mode >> 4) % 4
                queue += session.authenticationFinished(verdict == 0 ? .success(user: user) : verdict == 1 ? .failure
                                                        : verdict == 2 ? .temporaryFailure : .challenge([0x41]))
            case .commit, .deliver:
                queue += mode & 64 == 0 ? session.messageCommitted(queueID: "Q1") : session.messageCommitFailed("db")
            case .send, .authenticationCancelled, .close, .log: break
            }
        }
    }
    run(session.start())
    var offset = 0
    while offset < input.count {
        let end = min(offset + pieceSize, input.count)
        run(session.receive(input[offset..<end]))
        offset = end
    }
    run(session.timeout(.idle))
    return 0
}
