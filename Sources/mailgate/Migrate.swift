// `mailgate migrate`: applies migrations/NNNN_name.sql files not yet recorded
// in schema_migrations, under the advisory lock (see Postgres/Migrator.swift).
// The database URL is MAILGATE_DATABASE_URL, else the config's [database] url.
// It runs a reactor of its own until the migrator is done. Exit 0: applied or
// up to date; 1: the database refused or was unreachable; 2: bad input.
import ArgumentParser
import Config
import Mailgate
import Postgres
import Reactor

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the SQL files of migrations/ not yet applied, in order, once each.")

    @OptionGroup var options: ConfigOption

    @Option(help: "The directory of numbered SQL files (NNNN_name.sql).")
    var directory = "migrations"

    @Option(help: "Seconds to wait for the database connection.")
    var connectTimeout = 10

    func run() throws {
        let url = try databaseURL()
        let migrations: [Migration]
        switch Migration.load(directory: directory) {
        case .success(let loaded): migrations = loaded
        case .failure(let error):
            Standard.error("mailgate migrate: \(error)")
            throw ExitCode(2)
        }
        let outcome = try migrate(url: url, migrations: migrations)
        switch outcome {
        case .success(let applied):
            if applied.isEmpty { print("schema is up to date (\(migrations.count) migrations)") }
        case .failure(let error):
            Standard.error("mailgate migrate: \(error)")
            throw ExitCode(1)
        }
    }

    private func databaseURL() throws -> String {
        if let url = Environment.databaseURL { return url }
        switch ConfigLoader.load(path: options.config) {
        case .success(let config):
            guard let url = config.database.url else {
                Standard.error("mailgate migrate: no database: set [database] url in \(options.config) or MAILGATE_DATABASE_URL")
                throw ExitCode(2)
            }
            return url
        case .failure(let errors):
            for error in errors.errors { Standard.error("\(error)") }
            Standard.error("\(options.config): \(errors.errors.count) error(s)")
            throw ExitCode(2)
        }
    }

    private func migrate(url: String, migrations: [Migration]) throws -> Result<[Migration], MigrationError> {
        let reactor: Reactor
        do {
            reactor = try Reactor()
        } catch {
            return .failure(MigrationError("cannot start the event loop: \(error)"))
        }
        var outcome: Result<[Migration], MigrationError> = .failure(MigrationError("interrupted"))
        PGConnection.connect(reactor: reactor, url: url, timeout: .seconds(max(1, connectTimeout))) { result in
            switch result {
            case .failure(let error):
                outcome = .failure(MigrationError("\(error)", underlying: error))
                reactor.stop()
            case .success(let connection):
                Migrator(migrations: migrations).run(on: connection, applied: { migration in
                    print("applied \(migration.name)")
                }) { result in
                    outcome = result
                    connection.close()
                    reactor.stop()
                }
            }
        }
        reactor.run()
        return outcome
    }
}
