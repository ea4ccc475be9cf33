// Started as root with [server] user set, serve opens its listeners first and
// then becomes that user: supplementary groups from the group database
// (initgroups), then gid, then uid, and checks that root cannot be regained.
// Not root: nothing to drop, refused unless already running as that user.
// Limit: files opened before the drop (the log, listeners, database sockets) stay open.
import Glibc

enum Privileges {
    struct Dropped {
        var uid: uid_t
        var gid: gid_t
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func drop(to user: String) -> Result<Dropped, Failure> {
        guard let entry = getpwnam(user) else { return .failure(Failure(description: "no such user \(user)")) }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        if geteuid() != 0 {
            return geteuid() == uid ? .success(Dropped(uid: uid, gid: gid))
                : .failure(Failure(description: "not started as root, and not running as \(user)"))
        }
        guard uid != 0 else { return .failure(Failure(description: "\(user) is root: nothing to drop")) }
        guard initgroups(user, gid) == 0 else { return .failure(failure("initgroups")) }
        guard setgid(gid) == 0 else { return .failure(failure("setgid")) }
        guard setuid(uid) == 0 else { return .failure(failure("setuid")) }
        guard setuid(0) != 0, getuid() == uid, geteuid() == uid, getegid() == gid else {
            return .failure(Failure(description: "root could be regained after the drop"))
        }
        return .success(Dropped(uid: uid, gid: gid))
    }

    private static func failure(_ call: String) -> Failure {
        Failure(description: "\(call): \(String(cString: strerror(errno)))")
    }
}
