// Coverage-guided fuzzing of the IMAP side: the command framer, the pre-login
// session (credential and upstream verdicts picked by the input), the response
// reader and framer, the upstream login (STARTTLS or not, password or token,
// pre-connected or not) and the sync session. Byte 0 picks the machine and its
// options, byte 1 the size of the pieces the rest is fed in.
import IMAPProtocol

func pieces(_ bytes: [UInt8], size: Int) -> [ArraySlice<UInt8>] {
    stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min($0 + size, bytes.count)] }
}

enum Step { case more, feed, stop }

/// Calls `next` while it has more (at most 100,000 times per piece); false once it says stop
/// (a fatal failure: a session would close, so feeding on only repeats the failure).
func drain(_ next: () -> Step) -> Bool {
    for _ in 0..<100_000 {
        switch next() {
        case .more: continue
        case .feed: return true
        case .stop: return false
        }
    }
    return true
}

func preLogin(_ input: [UInt8], size: Int, implicitTLS: Bool, verdict: UInt8) {
    var session = IMAPPreLoginSession(policy: IMAPPreLoginPolicy(implicitTLS: implicitTLS))
    var steps = 0
    func run(_ actions: [IMAPPreLoginAction]) {
        var queue = actions
        while !queue.isEmpty, steps < 10_000 {
            steps += 1
            switch queue.removeFirst() {
            case .startTLS:
                queue += session.tlsEstablished()
            case .verifyCredentials:
                let check: IMAPCredentialCheck = verdict % 3 == 0 ? .accepted(user: "alice")
                    : verdict % 3 == 1 ? .rejected : .temporaryFailure
                queue += session.credentialsVerified(check)
            case .connectUpstream:
                queue += session.upstreamLoginFinished(verdict & 4 == 0 ? .loggedIn(capabilities: ["IMAP4rev1", "IDLE"])
                                                                        : .failed(.unavailable("down")))
            case .send, .startRelay, .close, .log:
                break
            }
        }
    }
    run(session.start())
    for piece in pieces(input, size: size) { run(session.receive(piece)) }
    run(session.timeout(.idle))
}

func commandFramer(_ input: [UInt8], size: Int) {
    var framer = IMAPCommandFramer()
    for piece in pieces(input, size: size) {
        framer.append(piece)
        let going = drain {
            switch framer.next() {
            case .needMoreBytes: .feed
            case .failure(let failure) where failure.isFatal: .stop
            case .literalContinuationNeeded, .command, .failure: .more
            }
        }
        if !going { return }
    }
}

func responses(_ input: [UInt8], size: Int) {
    var reader = IMAPResponseReader(maxResponseLength: 4096, maxLiteralSize: 8192)
    var framer = IMAPResponseFramer(maxLineLength: 4096, maxLiteralSize: 8192)
    var (reading, framing) = (true, true)
    for piece in pieces(input, size: size) where reading || framing {
        if reading {
            reader.append(piece)
            reading = drain {
                switch reader.next() {
                case .needMoreBytes: .feed
                case .response: .more
                case .failure: .stop
                }
            }
        }
        if framing {
            framer.append(piece)
            framing = drain {
                switch framer.next() {
                case .needMoreBytes: .feed
                case .frame: .more
                case .failure: .stop
                }
            }
        }
    }
}

func upstreamLogin(_ input: [UInt8], size: Int, options: UInt8) {
    let security: IMAPUpstreamLoginConfiguration.Security = options & 1 == 0 ? .implicitTLS : .startTLS
    let credential: IMAPUpstreamLoginConfiguration.Credential = options & 2 == 0 ? .password("p\"a{ss}\r\nw") : .oauth2Token("tok")
    let account = IMAPUpstreamAccount(username: "us\"er", credential: credential, clientAddress: "127.0.0.1", clientPort: 4)
    var login = options & 4 == 0
        ? IMAPUpstreamLogin(configuration: IMAPUpstreamLoginConfiguration(
            security: security, username: account.username, credential: credential, clientAddress: "127.0.0.1",
            clientPort: 4, maxResponseLength: 4096))
        : IMAPUpstreamLogin(security: security, maxResponseLength: 4096)
    for piece in pieces(input, size: size) {
        for action in login.receive(piece) {
            switch action {
            case .startTLS: _ = login.tlsEstablished()
            case .ready: _ = login.logIn(as: account)
            case .send, .loggedIn, .failed: break
            }
        }
    }
    _ = login.connectionClosed()
}

func sync(_ input: [UInt8], size: Int, options: UInt8) {
    var session = IMAPSyncSession(configuration: IMAPSyncConfiguration(
        folders: [IMAPSyncFolder(name: "INBOX", uidValidity: options & 1 == 0 ? nil : 7, lastUID: UInt32(options & 6)),
                  IMAPSyncFolder(name: "Arch ive")],
        capabilities: options & 8 == 0 ? ["IMAP4rev1", "IDLE"] : ["IMAP4rev1"], maxMessageSize: 2048, maxLineLength: 4096))
    _ = session.start()
    for piece in pieces(input, size: size) {
        _ = session.receive(piece)
        if options & 16 != 0 { _ = session.timerFired() }
    }
    _ = session.logout()
    _ = session.connectionClosed()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let mode = data[0]
    let pieceSize = Int(data[1] % 17) + 1
    let input = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    switch mode % 5 {
    case 0: commandFramer(input, size: pieceSize)
    case 1: preLogin(input, size: pieceSize, implicitTLS: mode & 8 != 0, verdict: mode >> 4)
    case 2: responses(input, size: pieceSize)
    case 3: upstreamLogin(input, size: pieceSize, options: mode >> 3)
    default: sync(input, size: pieceSize, options: mode >> 3)
    }
    return 0
}
