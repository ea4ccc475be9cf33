// One upstream account as the relay sees it on this node: its config turned
// into a rate policy and an SMTP client configuration, its pause (mirrored
// into email_accounts), and its upstream sessions (busy ones carry a job, idle
// ones wait to be reused for the next message). Credentials are read from
// their secret files (off the loop) when a session starts, so a rotated
// password or token takes effect without a reload.
import Config
import Foundation
import MailCore
import RelayPolicy
import SMTPProtocol
import TLS

final class RelayAccount {
    private(set) var config: AccountConfig
    private(set) var policy: RatePolicy
    var pause: AccountPause?
    /// Failures in a row of the same kind, for the pause's back-off.
    var consecutiveProblems = 0
    /// Counts this node's own pause decisions, and those not yet written: the shared state
    /// read by a pass is adopted only when neither moved since the read began.
    var pauseGeneration = 0
    var pauseWritesPending = 0
    var idle: [UpstreamSession] = []
    /// Sessions carrying a message (or opening for one), retained here.
    var busy: [ObjectIdentifier: UpstreamSession] = [:]
    /// Sessions opening (connecting, in TLS or AUTH) for a job.
    var opening = 0

    init(config: AccountConfig) {
        self.config = config
        self.policy = config.ratePolicy
    }

    func update(_ newConfig: AccountConfig) {
        config = newConfig
        policy = newConfig.ratePolicy
    }

    var name: String { config.name }
    /// Sessions carrying or about to carry a message: what max_connections bounds.
    var connectionsInUse: Int { busy.count + opening }

    /// What a new upstream session needs: the client configuration, with the credential read
    /// from its secret file, and the TLS client context with the account's CA file. Reads files:
    /// call it off the event loop.
    /// `oauth2Token` is the access token for an account with an oauth2 table (OAuth2TokenService).
    static func sessionSetup(for config: AccountConfig, heloName: String, timeouts: SMTPClientTimeouts,
                             oauth2Token: String? = nil)
        -> Result<(SMTPClientConfiguration, TLSClientContext), RelayAccountError> {
        let security: SMTPClientSecurity
        switch config.smtp.security {
        case .startTLS: security = .startTLS
        case .implicitTLS: security = .implicitTLS
        case .none: security = .none
        }
        let credentials: SMTPClientCredentials
        switch config.credential {
        case .none:
            credentials = .none
        case .passwordFile(let path):
            guard let secret = readSecret(path) else { return .failure(.unreadableSecret(path)) }
            credentials = .password(user: config.username ?? config.address, password: secret)
        case .oauth2TokenFile(let path):
            guard let secret = readSecret(path) else { return .failure(.unreadableSecret(path)) }
            credentials = .xoauth2(user: config.username ?? config.address, token: secret)
        case .oauth2Refresh:
            guard let oauth2Token else { return .failure(.noOAuth2Token) }
            credentials = .xoauth2(user: config.username ?? config.address, token: oauth2Token)
        }
        let tls: TLSClientContext
        do {
            tls = try TLSClientContext(caFile: config.caFile)
        } catch {
            return .failure(.tls("\(error)"))
        }
        return .success((SMTPClientConfiguration(heloName: heloName, security: security, credentials: credentials,
                                                 timeouts: timeouts), tls))
    }

    /// The secret is the file's first line, without its line ending.
    private static func readSecret(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let secret = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        return secret.isEmpty ? nil : secret
    }
}

enum RelayAccountError: Error, Sendable, CustomStringConvertible {
    case unreadableSecret(String)
    case tls(String)
    case noOAuth2Token

    var description: String {
        switch self {
        case .unreadableSecret(let path): return "cannot read the secret file \(path)"
        case .tls(let why): return "TLS client setup failed: \(why)"
        case .noOAuth2Token: return "no OAuth2 access token"
        }
    }
}
