// Access tokens for accounts with an `oauth2` table, on the loop. A token is
// handed out while usable; it is refreshed ahead of expiry (OAuth2TokenLifetime)
// and at once when an upstream refuses it (once: a fresh token refused too is
// the account's login failure). Before posting to the endpoint a node reads the
// shared row in email_secrets: a token another node obtained is adopted, so
// usually one node refreshes. One logfmt line per refresh; tokens never logged.
import Config
import Glibc
import HTTPProtocol
import Logging
import MailCore
import Postgres
import Reactor
import TLS
import Threading

enum OAuth2TokenError: Error, CustomStringConvertible {
    case secret(String)
    case endpoint(String)

    var description: String {
        switch self {
        case .secret(let why): why
        case .endpoint(let why): "token endpoint: \(why)"
        }
    }
}

final class OAuth2TokenService {
    typealias Waiter = (Result<String, OAuth2TokenError>) -> Void

    private final class AccountState {
        var setup: OAuth2RefreshConfig
        var current: OAuth2SharedToken?
        var waiters: [Waiter] = []
        var refreshing = false
        var timer: TimerID?
        /// Which refused tokens earn a refresh (one per refusal of the token in use).
        var refusals = OAuth2Refusals()
        var failures = 0
        /// After a failed refresh, requests fail at once until then (monotonic ns).
        var blockedUntil: UInt64 = 0
        var lastError: OAuth2TokenError?

        init(setup: OAuth2RefreshConfig) { self.setup = setup }
    }

    private let reactor: Reactor
    private let pool: PGPool
    private let logger = Logger(label: "oauth2")
    private var states: [String: AccountState] = [:]
    private var exchanges: [ObjectIdentifier: HTTPExchange] = [:]
    private let jitter = Double.random(in: 0...1)
    static let timeout: Duration = .seconds(15)

    init(reactor: Reactor, pool: PGPool) {
        self.reactor = reactor
        self.pool = pool
    }

    /// Forgets the state of accounts whose oauth2 table changed or went away.
    func reload(_ config: MailgateConfig) {
        var setups: [String: OAuth2RefreshConfig] = [:]
        for account in config.accounts {
            if case .oauth2Refresh(let setup) = account.credential { setups[account.name] = setup }
        }
        for (name, state) in states where setups[name] != state.setup {
            if let timer = state.timer { reactor.cancel(timer) }
            let waiters = state.waiters
            states[name] = nil
            for waiter in waiters { waiter(.failure(.secret("the account's oauth2 setup changed"))) }
        }
    }

    /// The account's current access token, refreshed first when needed. `done` runs on the loop.
    func token(account: String, setup: OAuth2RefreshConfig, _ done: @escaping Waiter) {
        let state = self.state(account, setup)
        if let current = state.current, current.lifetime.isUsable(atMilliseconds: Self.wallClock()),
           state.refusals.usable(current.accessToken) {
            return done(.success(current.accessToken))
        }
        if !state.refreshing, reactor.now < state.blockedUntil, let error = state.lastError {
            return done(.failure(error))
        }
        state.waiters.append(done)
        if !state.refreshing { refresh(account, state) }
    }

    /// An upstream refused `token` for `account`. True: take the current token (refreshed first when
    /// it is `token`) and try again at once; false: the token a refusal forced was refused too (or
    /// there is no oauth2 state): treat it as a login failure. OAuth2Refusals has the rules.
    func rejected(account: String, token: String) -> Bool {
        guard let state = states[account],
              state.refusals.refused(token, current: state.current?.accessToken) else { return false }
        // A token already replaced (its login began before the refresh) needs no refresh of its own.
        guard !state.refusals.usable(token) else { return true }
        logger.info("upstream refused the access token: refreshing", metadata: ["account": "\(account)"])
        return true
    }

    private func state(_ account: String, _ setup: OAuth2RefreshConfig) -> AccountState {
        if let state = states[account], state.setup == setup { return state }
        let state = AccountState(setup: setup)
        states[account] = state
        return state
    }

    // MARK: Refreshing

    private struct Secrets: Sendable {
        var refreshToken: String
        var clientSecret: String?
        var fingerprint: String
        var tls: TLSClientContext?
    }

    private func refresh(_ account: String, _ state: AccountState) {
        state.refreshing = true
        if let timer = state.timer { reactor.cancel(timer) }
        state.timer = nil
        let setup = state.setup
        reactor.offload({ Self.readSecrets(setup) }, then: { [weak self] result in
            guard let self, self.states[account] === state else { return }
            switch result {
            case .failure(let error): self.failed(account, state, error)
            case .success(let secrets): self.readShared(account, state, secrets)
            }
        })
    }

    private static func readSecrets(_ setup: OAuth2RefreshConfig) -> Result<Secrets, OAuth2TokenError> {
        let refresh: String
        switch SecretFileReader.read(setup.refreshTokenFile) {
        case .success(let text): refresh = text
        case .failure(let error): return .failure(.secret(error.description))
        }
        var secret: String?
        if let path = setup.clientSecretFile {
            switch SecretFileReader.read(path) {
            case .success(let text): secret = text
            case .failure(let error): return .failure(.secret(error.description))
            }
        }
        var tls: TLSClientContext?
        if setup.tokenURL.isHTTPS {
            do {
                tls = try TLSClientContext(caFile: setup.caFile)
            } catch {
                return .failure(.endpoint("TLS client setup failed: \(error)"))
            }
        }
        let identity = [setup.tokenURL.text, setup.clientID, refresh].joined(separator: "\n")
        let fingerprint = String(SHA256.hex(Array(identity.utf8)).prefix(32))
        return .success(Secrets(refreshToken: refresh, clientSecret: secret, fingerprint: fingerprint, tls: tls))
    }

    static func rowName(_ account: String) -> String { "oauth2:\(account)" }

    /// Adopts another node's token when it is still ahead of its refresh time (or, after a
    /// refusal, simply newer than the refused one); otherwise posts to the endpoint.
    private func readShared(_ account: String, _ state: AccountState, _ secrets: Secrets) {
        pool.batch([PGStatement("SELECT value FROM email_secrets WHERE name = $1", [PGValue(Self.rowName(account))])]) {
            [weak self] result in
            guard let self, self.states[account] === state else { return }
            var refreshToken = secrets.refreshToken
            if case .success(let results) = result, let bytes = results.first?.first?.bytes("value"),
               let shared = OAuth2SharedToken.decode(bytes), shared.fingerprint == secrets.fingerprint {
                let now = Self.wallClock()
                let fresh = now < shared.lifetime.refreshAtMilliseconds(jitter: self.jitter)
                    && shared.lifetime.isUsable(atMilliseconds: now)
                if state.refusals.usable(shared.accessToken), shared.accessToken != state.current?.accessToken, fresh
                    || (state.refusals.rejected != nil && shared.lifetime.isUsable(atMilliseconds: now)) {
                    return self.obtained(account, state, shared, refreshed: false)
                }
                if let rotated = shared.refreshToken { refreshToken = rotated }
            } else if case .failure(let error) = result {
                self.logger.warning("cannot read the shared token: refreshing", metadata: ["account": "\(account)",
                                                                                          "error": "\(error)"])
            }
            self.post(account, state, secrets, refreshToken: refreshToken)
        }
    }

    private func post(_ account: String, _ state: AccountState, _ secrets: Secrets, refreshToken: String) {
        let setup = state.setup
        var headers = [HTTPHeader("Content-Type", "application/x-www-form-urlencoded"),
                       HTTPHeader("Accept", "application/json")]
        if let secret = secrets.clientSecret {
            headers.append(HTTPHeader("Authorization",
                                      OAuth2RefreshRequest.basicAuthorization(clientID: setup.clientID, secret: secret)))
        }
        let body = OAuth2RefreshRequest.body(refreshToken: refreshToken, clientID: setup.clientID,
                                             hasSecret: secrets.clientSecret != nil, scope: setup.scope)
        let request = HTTPClientRequest(method: "POST", target: setup.tokenURL.requestTarget,
                                        host: setup.tokenURL.hostHeader, headers: headers, body: body)
        let startedAt = Self.wallClock()
        var key: ObjectIdentifier?
        let exchange = HTTPExchange(reactor: reactor, url: setup.tokenURL, request: request, tlsContext: secrets.tls,
                                    timeout: Self.timeout) { [weak self] result in
            guard let self else { return }
            if let key { self.exchanges[key] = nil }
            guard self.states[account] === state else { return }
            switch result {
            case .failure(let error):
                self.failed(account, state, .endpoint("\(error)"))
            case .success(let response):
                switch OAuth2TokenResponse.parse(status: response.status, body: response.body) {
                case .failure(let problem):
                    self.failed(account, state, .endpoint("\(problem)"))
                case .success(let grant):
                    let shared = OAuth2SharedToken(
                        fingerprint: secrets.fingerprint,
                        lifetime: OAuth2TokenLifetime(obtainedAtMilliseconds: startedAt, expiresIn: grant.expiresIn),
                        accessToken: grant.accessToken,
                        refreshToken: grant.refreshToken ?? (refreshToken == secrets.refreshToken ? nil : refreshToken))
                    self.store(account, shared)
                    self.obtained(account, state, shared, refreshed: true, expiresIn: grant.expiresIn)
                }
            }
        }
        key = ObjectIdentifier(exchange)
        exchanges[ObjectIdentifier(exchange)] = exchange
    }

    private func store(_ account: String, _ shared: OAuth2SharedToken) {
        pool.batch([PGStatement("""
            INSERT INTO email_secrets (name, value) VALUES ($1, $2)
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, created_at = now()
            """, [PGValue(Self.rowName(account)), .bytes(shared.encoded())])]) { [logger] result in
            if case .failure(let error) = result {
                logger.warning("cannot share the refreshed token", metadata: ["account": "\(account)",
                                                                             "error": "\(error)"])
            }
        }
    }

    private func obtained(_ account: String, _ state: AccountState, _ shared: OAuth2SharedToken, refreshed: Bool,
                          expiresIn: Int? = nil) {
        state.refusals.obtained(shared.accessToken)
        state.current = shared
        state.refreshing = false
        state.failures = 0
        state.lastError = nil
        if refreshed {
            logger.info("oauth2 token refreshed", metadata: [
                "account": "\(account)", "expires_in": "\(expiresIn.map(String.init) ?? "unset")", "outcome": "ok"])
        } else {
            logger.info("oauth2 token adopted from another node", metadata: [
                "account": "\(account)", "expires_in": "\(Self.remainingSeconds(shared))", "outcome": "shared"])
        }
        let delayMilliseconds = max(1000, shared.lifetime.refreshAtMilliseconds(jitter: jitter) - Self.wallClock())
        scheduleRefresh(account, state, after: .milliseconds(delayMilliseconds))
        let waiters = state.waiters
        state.waiters = []
        for waiter in waiters { waiter(.success(shared.accessToken)) }
    }

    private func failed(_ account: String, _ state: AccountState, _ error: OAuth2TokenError) {
        state.refreshing = false
        state.failures += 1
        state.lastError = error
        let backoff = min(300, 5 << min(state.failures - 1, 6))
        state.blockedUntil = reactor.now &+ UInt64(backoff) * 1_000_000_000
        logger.warning("oauth2 token refresh failed", metadata: [
            "account": "\(account)", "expires_in": "unset", "outcome": "failed", "error": "\(error)",
            "retry_in": "\(backoff)s"])
        // A token that is still usable keeps serving while the endpoint is down.
        if let current = state.current, current.lifetime.isUsable(atMilliseconds: Self.wallClock()),
           state.refusals.usable(current.accessToken) {
            scheduleRefresh(account, state, after: .seconds(backoff))
        }
        let waiters = state.waiters
        state.waiters = []
        for waiter in waiters { waiter(.failure(error)) }
    }

    /// The account's next refresh, unless the account is replaced or a refresh runs by then.
    private func scheduleRefresh(_ account: String, _ state: AccountState, after delay: Duration) {
        if let timer = state.timer { reactor.cancel(timer) }
        state.timer = reactor.schedule(after: delay) { [weak self, weak state] in
            guard let self, let state, self.states[account] === state else { return }
            state.timer = nil
            if !state.refreshing { self.refresh(account, state) }
        }
    }

    private static func remainingSeconds(_ shared: OAuth2SharedToken) -> Int64 {
        max(0, (shared.lifetime.expiresAtMilliseconds - wallClock()) / 1000)
    }

    static func wallClock() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec / 1_000_000)
    }
}

extension OAuth2TokenService {
    /// The token an account's session needs: nil at once for accounts without an oauth2 table.
    func tokenIfNeeded(for account: AccountConfig, _ done: @escaping (Result<String?, OAuth2TokenError>) -> Void) {
        guard case .oauth2Refresh(let setup) = account.credential else { return done(.success(nil)) }
        token(account: account.name, setup: setup) { result in done(result.map { Optional($0) }) }
    }
}

extension OAuth2TokenService {
    /// The token an IMAP login to `target` needs: nil at once for accounts without an oauth2 table.
    func tokenIfNeeded(for target: IMAPUpstreamTarget, _ done: @escaping (Result<String?, OAuth2TokenError>) -> Void) {
        guard case .oauth2Refresh(let setup) = target.credential else { return done(.success(nil)) }
        token(account: target.accountName, setup: setup) { result in done(result.map { Optional($0) }) }
    }
}
