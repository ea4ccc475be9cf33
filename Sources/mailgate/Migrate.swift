// `mailgate migrate`: applies migrations/NNNN_name.sql files not yet recorded
// in schema_migrations, under the advisory lock (see Postgres/Migrator.swift).
// The database URL is MAILGATE_DATABASE_URL, else the config's [database] url;
// the reactor and connection come from DatabaseCommand. Exit 0: applied or
// up to date; 1: the database refused or was unreachable; 2: bad input.
import ArgumentParser
import Mailgate
import Postgres

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the SQL files of migrations/ not yet applied, in order, once each.")

    @OptionGroup var options: DatabaseOptions

    @Option(help: "The directory of numbered SQL files (NNNN_name.sql).")
    var directory = "migrations"

    func run() throws {
        let command = DatabaseCommand(name: "migrate", options: options)
        let url = try command.databaseURL()
        let migrations: [Migration]
        switch Migration.load(directory: directory) {
        case .success(let loaded): migrations = loaded
        case .failure(let error):
            command.fail("\(error)")
            throw ExitCode(2)
        }
        let outcome: Result<[Migration], MigrationError> = try command.run(url: url) { pool, done in
            pool.acquire { lent in
                switch lent {
                case .failure(let error):
                    done(.failure(MigrationError("\(error)", underlying: error)))
                case .success(let connection):
                    // The lent connection is ours alone: the session advisory lock stays with it.
                    Migrator(migrations: migrations).run(on: connection, applied: { migration in
                        print("applied \(migration.name)")
                    }) { result in
                        pool.release(connection)
                        done(result)
                    }
                }
            }
        }
        switch outcome {
        case .success(let applied):
            if applied.isEmpty { print("schema is up to date (\(migrations.count) migrations)") }
        case .failure(let error):
            command.fail("\(error)")
            throw ExitCode(1)
        }
    }
}
