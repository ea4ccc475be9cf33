// What every command that talks to PostgreSQL shares (migrate, queue,
// suppression, accounts): --config and --connect-timeout, loading the config,
// the database URL (MAILGATE_DATABASE_URL, else [database] url), and running a
// reactor of its own with a one-connection pool until the work calls done.
// Bad config or no URL: a message on stderr and exit 2. The reactor is
// single-threaded and lives only inside `run`; nothing here outlives the command.
import ArgumentParser
import Config
import Mailgate
import Postgres
import Reactor

struct DatabaseOptions: ParsableArguments {
    @OptionGroup var configOption: ConfigOption

    @Option(help: "Seconds to wait for the database connection.")
    var connectTimeout = 10

    var config: String { configOption.config }
}

/// One command's access to the database: `name` prefixes its error messages
/// ("mailgate queue hold: ...").
struct DatabaseCommand {
    let name: String
    let options: DatabaseOptions

    /// The config file, validated; exit 2 with every error when it is not valid.
    func loadConfig() throws -> MailgateConfig {
        switch ConfigLoader.load(path: options.config, databaseURLOverride: Environment.databaseURL) {
        case .success(let config):
            return config
        case .failure(let errors):
            for error in errors.errors { Standard.error("\(error)") }
            Standard.error("\(options.config): \(errors.errors.count) error(s)")
            throw ExitCode(2)
        }
    }

    /// MAILGATE_DATABASE_URL when set (the config is then not read at all
    /// unless `config` was already loaded), else the config's [database] url.
    func databaseURL(config loaded: MailgateConfig? = nil) throws -> String {
        if let url = Environment.databaseURL { return url }
        let config = try loaded ?? loadConfig()
        guard let url = config.database.url else {
            fail("no database: set [database] url in \(options.config) or MAILGATE_DATABASE_URL")
            throw ExitCode(2)
        }
        return url
    }

    /// Runs `body` on a fresh reactor with a one-connection pool until it
    /// calls `done`, then closes the pool and returns the outcome. Connection
    /// failures reach `body` through the pool (kind .connectFailed).
    func run<Value, Failure: Error>(
        url: String, _ body: @escaping (PGPool, @escaping (Result<Value, Failure>) -> Void) -> Void
    ) throws -> Result<Value, Failure> {
        try runOnLoop(url: url) { _, pool, done in body(pool, done) }
    }

    /// `run`, for work that also needs the loop (health checks dial upstreams on it).
    func runOnLoop<Value, Failure: Error>(
        url: String, _ body: @escaping (Reactor, PGPool, @escaping (Result<Value, Failure>) -> Void) -> Void
    ) throws -> Result<Value, Failure> {
        let reactor: Reactor
        do {
            reactor = try Reactor()
        } catch {
            fail("cannot start the event loop: \(error)")
            throw ExitCode(1)
        }
        let pool = PGPool(reactor: reactor, url: url, size: 1, connectTimeout: .seconds(max(1, options.connectTimeout)))
        var outcome: Result<Value, Failure>?
        reactor.schedule(after: .zero) {
            body(reactor, pool) { result in
                guard outcome == nil else { return }
                outcome = result
                pool.close()
                reactor.stop()
            }
        }
        reactor.run()
        guard let outcome else {
            fail("the event loop ended before the work did")
            throw ExitCode(1)
        }
        return outcome
    }

    /// `run`, for work whose failures are PostgreSQL's: prints the error and exits 1.
    func runOrExit<Value>(url: String, _ body: @escaping (PGPool, @escaping (Result<Value, PGError>) -> Void) -> Void)
        throws -> Value
    {
        switch try run(url: url, body) {
        case .success(let value): return value
        case .failure(let error):
            fail("\(error)")
            throw ExitCode(1)
        }
    }

    /// `runOnLoop`, for work whose failures are PostgreSQL's: prints the error and exits 1.
    func runOrExitOnLoop<Value>(
        url: String, _ body: @escaping (Reactor, PGPool, @escaping (Result<Value, PGError>) -> Void) -> Void
    ) throws -> Value {
        switch try runOnLoop(url: url, body) {
        case .success(let value): return value
        case .failure(let error):
            fail("\(error)")
            throw ExitCode(1)
        }
    }

    func fail(_ message: String) {
        Standard.error("mailgate \(name): \(message)")
    }
}
