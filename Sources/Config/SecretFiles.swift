// The one file-system question the config asks about secrets: does the file
// exist, is it a regular file we can read, and is it closed to group and others
// (mode & 0o077 == 0)? Behind a protocol so tests run the real check on real
// temp files and callers may swap it. Relative paths resolve against the cwd.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SecretFileStatus: Sendable, Equatable {
    case ok
    case missing
    case notARegularFile
    /// Permission bits (e.g. 0o644) that let group or others read, write or execute it.
    case tooOpen(mode: UInt32)
    /// stat or access failed for another reason (the text says which).
    case unreadable(String)
}

public protocol SecretFileChecking: Sendable {
    func status(ofSecretAt path: String) -> SecretFileStatus
}

/// The real check: stat(2) (following symlinks, as the later open will) and access(2) for reading.
public struct FileSystemSecretChecker: SecretFileChecking {
    public init() {}

    public func status(ofSecretAt path: String) -> SecretFileStatus {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return .missing }
            return .unreadable(Self.describe(errno: code))
        }
        let fileType = UInt32(info.st_mode) & UInt32(S_IFMT)
        guard fileType == UInt32(S_IFREG) else { return .notARegularFile }
        let permissions = UInt32(info.st_mode) & 0o7777
        guard permissions & 0o077 == 0 else { return .tooOpen(mode: permissions) }
        guard access(path, R_OK) == 0 else { return .unreadable(Self.describe(errno: errno)) }
        return .ok
    }

    private static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

extension SecretFileStatus {
    /// The config message for a bad status; nil for `.ok`.
    func problem(path: String) -> String? {
        switch self {
        case .ok:
            return nil
        case .missing:
            return "secret file \"\(path)\" does not exist (relative paths start at the working directory)"
        case .notARegularFile:
            return "secret file \"\(path)\" is not a regular file"
        case .tooOpen(let mode):
            return "secret file \"\(path)\" has mode \(Self.octal(mode)): readable or writable by group or others; "
                + "run chmod 600 \(path)"
        case .unreadable(let reason):
            return "secret file \"\(path)\" cannot be read: \(reason)"
        }
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return "0" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }
}
