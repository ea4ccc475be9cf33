// Tests one upstream account the way the relay and the IMAP proxy use it: SMTP
// through UpstreamSession (connect, TLS verified, EHLO, AUTH), then, when the
// account has an imap URL, an IMAP login through IMAPUpstreamDialer; with a
// test address, a small message goes out on the SMTP session before QUIT.
// Each step reports its outcome and latency. Runs on the loop; `completion`
// runs exactly once. Limit: only the first address of a host name is tried for SMTP.
import Config
import Glibc
import IMAPProtocol
import Logging
import MailCore
import Reactor
import SMTPProtocol
import TLS

public struct ProtocolCheck: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case passed
        case failed(String)
    }

    /// Upstream text as one printable line of at most 300 characters (it reaches logs and the table).
    static func oneLine(_ text: String) -> String {
        let flat = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        let trimmed = flat.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return trimmed.count > 300 ? String(trimmed.prefix(300)) + "..." : trimmed
    }

    /// "smtp", "imap" or "send-test".
    public var step: String
    /// What was contacted: the upstream URL, or the test recipient.
    public var target: String
    public var outcome: Outcome
    public var milliseconds: Int
    /// The upstream's answer worth showing (the test message's reply).
    public var detail: String?
}

public struct HealthCheckReport: Sendable {
    public var account: String
    public var checks: [ProtocolCheck]

    public var passed: Bool { checks.allSatisfy { $0.outcome == .passed } }

    /// One line for email_accounts and the log: "passed" or each failure.
    public var summary: String {
        let failures = checks.compactMap { check -> String? in
            guard case .failed(let why) = check.outcome else { return nil }
            return "\(check.step): \(why)"
        }
        return failures.isEmpty ? "passed" : failures.joined(separator: "; ")
    }
}

public final class AccountHealthCheck {
    private let reactor: Reactor
    private let account: AccountConfig
    private let heloName: String
    private let timeouts: SMTPClientTimeouts
    private let testRecipient: String?
    private let logger = Logger(label: "health")
    private var checks: [ProtocolCheck] = []
    private var completion: ((HealthCheckReport) -> Void)?
    private var session: UpstreamSession?
    private var dialer: IMAPUpstreamDialer?
    private var stepStartedAt: UInt64 = 0
    private var smtpPhase = SMTPPhase.login
    /// Access tokens for an account with an oauth2 table; without it such an account's check fails.
    var oauth2: OAuth2TokenService?

    private enum SMTPPhase {
        case login
        case sending
        case quitting
    }

    /// `testRecipient`: send a test message there through the account (its address as sender).
    public init(reactor: Reactor, account: AccountConfig, config: MailgateConfig, testRecipient: String? = nil) {
        self.reactor = reactor
        self.account = account
        heloName = config.server.hostname
        var timeouts = SMTPClientTimeouts()
        timeouts.connect = config.relay.connectTimeout
        timeouts.command = config.relay.commandTimeout
        self.timeouts = timeouts
        self.testRecipient = testRecipient
    }

    public func run(completion: @escaping (HealthCheckReport) -> Void) {
        self.completion = completion
        startSMTP()
    }

    private var elapsedMilliseconds: Int { Int((reactor.now &- stepStartedAt) / 1_000_000) }

    // MARK: SMTP

    private func startSMTP() {
        stepStartedAt = reactor.now
        let account = self.account, heloName = self.heloName, timeouts = self.timeouts
        withToken { [weak self] token in
            guard let self else { return }
            self.reactor.offload({
                RelayAccount.sessionSetup(for: account, heloName: heloName, timeouts: timeouts, oauth2Token: token)
            }, then: { [weak self] setup in self?.openSMTP(setup) })
        }
    }

    /// The account's OAuth2 access token when it has an oauth2 table (nil when it has none, or on failure:
    /// the setup then fails with "no OAuth2 access token").
    private func withToken(_ use: @escaping (String?) -> Void) {
        guard let oauth2 else { return use(nil) }
        oauth2.tokenIfNeeded(for: account) { [logger, account] result in
            switch result {
            case .success(let token):
                use(token)
            case .failure(let error):
                logger.warning("no OAuth2 access token", metadata: ["account": "\(account.name)", "error": "\(error)"])
                use(nil)
            }
        }
    }

    private func openSMTP(_ setup: Result<(SMTPClientConfiguration, TLSClientContext), RelayAccountError>) {
        switch setup {
        case .failure(let error):
            checks.append(smtpCheck(.failed("\(error)")))
            startIMAP()
        case .success(let (configuration, tls)):
            let session = UpstreamSession(account: account.name, endpoint: account.smtp, configuration: configuration,
                                          tlsContext: tls, reactor: reactor, logger: logger)
            self.session = session
            session.onEvent = { [weak self] event in self?.handle(event) }
            session.start()
        }
    }

    private func smtpCheck(_ outcome: ProtocolCheck.Outcome) -> ProtocolCheck {
        ProtocolCheck(step: "smtp", target: "\(account.smtp)", outcome: Self.flat(outcome), milliseconds: elapsedMilliseconds)
    }

    private static func flat(_ outcome: ProtocolCheck.Outcome) -> ProtocolCheck.Outcome {
        switch outcome {
        case .passed: .passed
        case .failed(let why): .failed(ProtocolCheck.oneLine(why))
        }
    }

    private func handle(_ event: UpstreamSession.Event) {
        switch event {
        case .ready:
            guard smtpPhase == .login else { return session?.quit() ?? () }
            checks.append(smtpCheck(.passed))
            if let testRecipient {
                smtpPhase = .sending
                stepStartedAt = reactor.now
                session?.send(testMessage(to: testRecipient))
            } else {
                smtpPhase = .quitting
                session?.quit()
            }
        case .result(let result):
            smtpPhase = .quitting
            let reply = result.dataReply ?? result.recipients.first?.reply
            let text = ProtocolCheck.oneLine(reply.map(RelayEngine.text) ?? "no reply")
            let sent = result.recipients.allSatisfy { $0.outcome == .accepted } && !result.recipients.isEmpty
            checks.append(ProtocolCheck(step: "send-test", target: testRecipient ?? "", outcome: sent ? .passed : .failed(text),
                                        milliseconds: elapsedMilliseconds, detail: text))
            session?.quit()
        case .failed(let failure):
            recordSMTPFailure(failure.detail)
        case .closed:
            recordSMTPFailure("connection closed")
            session = nil
            startIMAP()
        }
    }

    /// A failure counts once, for the step under way.
    private func recordSMTPFailure(_ why: String) {
        switch smtpPhase {
        case .login:
            checks.append(smtpCheck(.failed(why)))
        case .sending:
            checks.append(ProtocolCheck(step: "send-test", target: testRecipient ?? "", outcome: Self.flat(.failed(why)),
                                        milliseconds: elapsedMilliseconds))
        case .quitting:
            return
        }
        smtpPhase = .quitting
    }

    private func testMessage(to recipient: String) -> SMTPClientMessage {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S +0000", &parts)
        let date = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let id = "\(QueueID.make(microseconds: UInt64(max(0, now)) * 1_000_000, random: UInt32.random(in: 0...UInt32.max)))"
            + ".healthcheck@\(heloName)"
        let text = "From: <\(account.address)>\r\nTo: <\(recipient)>\r\nDate: \(date)\r\nMessage-ID: <\(id)>\r\n"
            + "Subject: mailgate test message through account \(account.name)\r\n"
            + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            + "This message was sent by `mailgate accounts test \(account.name) --send-test`\r\n"
            + "to check that the account can send. No reply is needed.\r\n"
        return SMTPClientMessage(sender: RelayEngine.mailbox(account.address),
                                 recipients: [SMTPRecipient(address: RelayEngine.mailbox(recipient))],
                                 content: Array(text.utf8), requiresSMTPUTF8: false)
    }

    // MARK: IMAP

    private func startIMAP() {
        guard completion != nil else { return }
        guard let target = IMAPUpstreamTarget(account: account) else { return finish() }
        stepStartedAt = reactor.now
        withToken { [weak self] token in
            self?.reactor.offload({ target.prepare(cachedContext: nil, oauth2Token: token) }, then: { [weak self] prepared in
                self?.dialIMAP(target, prepared)
            })
        }
    }

    private func imapCheck(_ target: IMAPUpstreamTarget, _ outcome: ProtocolCheck.Outcome) -> ProtocolCheck {
        ProtocolCheck(step: "imap", target: account.imap.map { "\($0)" } ?? target.host, outcome: Self.flat(outcome),
                      milliseconds: elapsedMilliseconds)
    }

    private func dialIMAP(_ target: IMAPUpstreamTarget, _ prepared: Result<IMAPPreparedUpstream, IMAPTargetError>) {
        switch prepared {
        case .failure(let error):
            checks.append(imapCheck(target, .failed("\(error)")))
            finish()
        case .success(let prepared):
            guard let local = SocketAddress(host: "127.0.0.1", port: 0) else { return finish() }
            let dialer = IMAPUpstreamDialer(reactor: reactor, endpoint: target.endpoint, tlsContext: prepared.tlsContext,
                                            connectTimeout: timeouts.connect)
            self.dialer = dialer
            dialer.dial(target.account(prepared, client: local), timeout: timeouts.connect + timeouts.command) {
                [weak self] outcome in
                self?.dialed(target, outcome)
            }
        }
    }

    private func dialed(_ target: IMAPUpstreamTarget, _ outcome: IMAPUpstreamDialer.Outcome) {
        switch outcome {
        case .loggedIn(let connection, _, _):
            checks.append(imapCheck(target, .passed))
            connection.write(Array("hc LOGOUT\r\n".utf8))
            connection.closeAfterFlush()
        case .failed(let failure):
            checks.append(imapCheck(target, .failed(Self.describe(failure))))
        }
        // We are inside the dialer's own callback: release it once the loop is out of it.
        let finished = dialer
        dialer = nil
        reactor.schedule(after: .zero) { _ = finished }
        finish()
    }

    static func describe(_ failure: IMAPUpstreamLoginFailure) -> String {
        switch failure {
        case .authenticationRejected(let text): "login refused: \(text)"
        case .unavailable(let text): "unavailable: \(text)"
        case .protocolError(let text): "protocol error: \(text)"
        }
    }

    private func finish() {
        guard let completion else { return }
        self.completion = nil
        completion(HealthCheckReport(account: account.name, checks: checks))
    }
}
