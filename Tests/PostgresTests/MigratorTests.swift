// Migrations: the directory rules (names, numbers, duplicates) and runs on a
// fresh database each: all files once, nothing the second time, two
// migrators at once applying each file exactly once, a failing file applying
// nothing of itself, and a renamed applied file refused.
import Foundation
import Postgres
import Reactor
import ReactorTesting
import Testing

@Suite struct MigrationFileTests {
    @Test func repositoryMigrationsLoadInOrder() throws {
        let migrations = try Migration.load(directory: repositoryRoot + "/migrations").get()
        let versions = migrations.map(\.version)
        #expect(versions == versions.sorted() && Set(versions).count == versions.count && versions.first == 1)
    }

    @Test(arguments: [
        "5_short.sql", "0005-dash.sql", "0005_Upper.sql", "0005_.sql", "0000_zero.sql", "0005_name.SQL",
        "0005_name.sql.bak", "0005name.sql", "0005_sp ace.sql", "1234567890_ten_digits.sql", "notes.sql",
    ])
    func badNameRefusesTheDirectoryNamingTheFile(name: String) throws {
        let directory = try fixtureDirectory(["0001_good.sql": "SELECT 1;", name: "SELECT 1;"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let message = migrationError(directory)
        #expect(message?.contains("\(directory)/\(name)") == true)
    }

    @Test func duplicateNumberNamesBothFiles() throws {
        let directory = try fixtureDirectory(["0003_alpha.sql": "SELECT 1;", "0003_beta.sql": "SELECT 2;"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(migrationError(directory) == "\(directory)/0003_beta.sql: number 3 is also used by \(directory)/0003_alpha.sql")
    }

    @Test func otherFilesAndDotfilesAreIgnored() throws {
        let directory = try fixtureDirectory([
            "0002_b.sql": "SELECT 2;", "0001_a.sql": "SELECT 1;", "README.md": "notes", ".0003_hidden.sql": "x",
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let names = try Migration.load(directory: directory).get().map(\.name)
        #expect(names == ["0001_a", "0002_b"])
    }

    @Test func missingDirectoryIsAClearError() throws {
        #expect(migrationError("/nonexistent/migrations")?.hasPrefix("cannot read migrations directory /nonexistent/migrations") == true)
    }

    @Test func emptyFileIsRefused() throws {
        let directory = try fixtureDirectory(["0001_empty.sql": "  \n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(migrationError(directory) == "\(directory)/0001_empty.sql: empty")
    }
}

@Suite struct MigratorTests {
    @Test func appliesEveryFileOnceThenNothing() throws {
        let outcome = try withFreshDatabase { url in
            let migrations = try Migration.load(directory: repositoryRoot + "/migrations").get()
            let first = try migrate(url: url, migrations).get().map(\.name)
            let second = try migrate(url: url, migrations).get().map(\.name)
            let recorded = try run("SELECT name FROM schema_migrations ORDER BY version", url: url).rows.compactMap { $0.string("name") }
            return [migrations.map(\.name), first, second, recorded]
        }
        #expect(outcome[1] == outcome[0])
        #expect(outcome[2] == [])
        #expect(outcome[3] == outcome[0])
    }

    @Test func twoMigratorsAtOnceApplyEachFileExactlyOnce() throws {
        let outcome = try withFreshDatabase { url in
            let migrations = try Migration.load(directory: repositoryRoot + "/migrations").get()
            let results = try runReactor { (reactor: Reactor, finish: @escaping ([Result<[Migration], MigrationError>]) -> Void) in
                var results: [Result<[Migration], MigrationError>] = []
                var connections: [PGConnection] = []
                for _ in 0..<2 {
                    PGConnection.connect(reactor: reactor, url: url) { connected in
                        guard let connection = try? connected.get() else {
                            return finish([.failure(MigrationError("connect failed"))])
                        }
                        connections.append(connection)
                        Migrator(migrations: migrations).run(on: connection) { result in
                            results.append(result)
                            if results.count == 2 {
                                connections.forEach { $0.close() }
                                finish(results)
                            }
                        }
                    }
                }
            }
            let appliedCounts = try results.map { try $0.get().count }
            let recorded = try run("SELECT count(*) AS n, count(DISTINCT version) AS versions FROM schema_migrations", url: url)
            return [appliedCounts.reduce(0, +), recorded.first?.int("n") ?? -1, recorded.first?.int("versions") ?? -1]
        }
        let files = try Migration.load(directory: repositoryRoot + "/migrations").get().count
        #expect(outcome == [files, files, files])
    }

    @Test func failingFileAppliesNothingOfItselfAndNamesItself() throws {
        let directory = try fixtureDirectory([
            "0001_first.sql": "CREATE TABLE first_table (id int);",
            "0002_broken.sql": "CREATE TABLE second_table (id int);\nSELECT * FROM no_such_relation;",
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try withFreshDatabase { url in
            let migrations = try Migration.load(directory: directory).get()
            let message = migrate(url: url, migrations).failure?.message ?? ""
            let tables = try run("SELECT string_agg(tablename, ',' ORDER BY tablename) AS t FROM pg_tables WHERE schemaname = 'public'", url: url)
            return [message.hasPrefix("\(directory)/0002_broken.sql failed"), tables.first?.string("t") == "first_table,schema_migrations"]
        }
        #expect(outcome == [true, true])
    }

    @Test func renamedAppliedFileIsRefused() throws {
        let before = try fixtureDirectory(["0001_original.sql": "SELECT 1;"])
        let after = try fixtureDirectory(["0001_renamed.sql": "SELECT 1;"])
        defer {
            try? FileManager.default.removeItem(atPath: before)
            try? FileManager.default.removeItem(atPath: after)
        }
        let message = try withFreshDatabase { url in
            _ = try migrate(url: url, Migration.load(directory: before).get()).get()
            return migrate(url: url, try Migration.load(directory: after).get()).failure?.message
        }
        #expect(message == "\(after)/0001_renamed.sql: migration 1 was applied as 0001_original; "
            + "an applied migration must never be renamed or replaced (add a new file instead)")
    }

    private func migrate(url: String, _ migrations: [Migration]) -> Result<[Migration], MigrationError> {
        do {
            return try runReactor { (reactor: Reactor, finish: @escaping (Result<[Migration], MigrationError>) -> Void) in
                PGConnection.connect(reactor: reactor, url: url) { connected in
                    switch connected {
                    case .failure(let error):
                        finish(.failure(MigrationError("\(error)", underlying: error)))
                    case .success(let connection):
                        Migrator(migrations: migrations).run(on: connection) { result in
                            connection.close()
                            finish(result)
                        }
                    }
                }
            }
        } catch {
            return .failure(MigrationError("\(error)"))
        }
    }
}

private func fixtureDirectory(_ files: [String: String]) throws -> String {
    let directory = NSTemporaryDirectory() + uniqueName("migrations")
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (name, text) in files {
        try text.write(toFile: directory + "/" + name, atomically: false, encoding: .utf8)
    }
    return directory
}

private func migrationError(_ directory: String) -> String? {
    if case .failure(let error) = Migration.load(directory: directory) { return error.message }
    return nil
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
