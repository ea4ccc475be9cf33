// Reading migrations/: files named NNNN_name.sql (4 to 9 digits, lower-case
// name of letters, digits and _), sorted by number. A .sql file or a name
// starting with a digit that breaks the rule, a number used twice, an
// unreadable or non-UTF-8 file: each refuses the whole directory with an
// error naming the file. Dotfiles and other names (README.md) are ignored.
import Glibc

public struct Migration: Sendable, Equatable {
    public let version: Int
    /// The file name without ".sql", e.g. "0003_events_suppressions"; recorded in schema_migrations.
    public let name: String
    public let path: String
    public let sql: String

    public init(version: Int, name: String, path: String, sql: String) {
        self.version = version
        self.name = name
        self.path = path
        self.sql = sql
    }
}

public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The database's error, when the database refused something.
    public let underlying: PGError?

    public init(_ message: String, underlying: PGError? = nil) {
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}

extension Migration {
    static let maxFileSize = 16 << 20

    /// Loads and checks every migration file of `directory`, in order.
    public static func load(directory: String) -> Result<[Migration], MigrationError> {
        let names: [String]
        switch listDirectory(directory) {
        case .success(let listed): names = listed
        case .failure(let error): return .failure(error)
        }
        var byVersion: [Int: String] = [:]
        var found: [(version: Int, stem: String, path: String)] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            let looksLikeMigration = name.hasSuffix(".sql") || name.first?.isASCII == true && name.first?.isNumber == true
            guard looksLikeMigration else { continue }
            guard let version = parseName(name) else {
                return .failure(MigrationError(
                    "\(path): not a migration file name (want NNNN_name.sql: a number of 4 to 9 digits above 0, "
                        + "then lower-case letters, digits and _, e.g. 0005_add_index.sql)"))
            }
            if let other = byVersion[version] {
                return .failure(MigrationError("\(path): number \(version) is also used by \(other)"))
            }
            byVersion[version] = path
            found.append((version, String(name.dropLast(4)), path))
        }
        var migrations: [Migration] = []
        for entry in found.sorted(by: { $0.version < $1.version }) {
            switch readText(entry.path) {
            case .success(let sql):
                migrations.append(Migration(version: entry.version, name: entry.stem, path: entry.path, sql: sql))
            case .failure(let error):
                return .failure(error)
            }
        }
        return .success(migrations)
    }

    /// The number of a well-formed name, else nil.
    static func parseName(_ name: String) -> Int? {
        let bytes = Array(name.utf8)
        guard bytes.count > 4, bytes.suffix(4) == Array(".sql".utf8) else { return nil }
        let stem = bytes.dropLast(4)
        guard let underscore = stem.firstIndex(of: UInt8(ascii: "_")) else { return nil }
        let digits = stem[..<underscore]
        let words = stem[(underscore + 1)...]
        guard (4...9).contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), !words.isEmpty,
              words.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "_") })
        else { return nil }
        let version = digits.reduce(0) { $0 * 10 + Int($1 - 48) }  // at most 9 digits: no overflow
        return version > 0 ? version : nil
    }

    private static func listDirectory(_ directory: String) -> Result<[String], MigrationError> {
        guard let handle = opendir(directory) else {
            return .failure(MigrationError("cannot read migrations directory \(directory): \(String(cString: strerror(errno)))"))
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names)
    }

    private static func readText(_ path: String) -> Result<String, MigrationError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(MigrationError("\(path): \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(MigrationError("\(path): \(String(cString: strerror(errno)))"))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= maxFileSize else { return .failure(MigrationError("\(path): larger than 16 MiB")) }
        }
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(MigrationError("\(path): not UTF-8 text"))
        }
        guard text.contains(where: { !$0.isWhitespace }) else {
            return .failure(MigrationError("\(path): empty"))
        }
        return .success(text)
    }
}
