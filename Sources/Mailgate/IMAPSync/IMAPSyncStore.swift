// The SQL of the IMAP sync: the advisory lock that makes one node sync an
// account, each folder's state in email_folders (UIDVALIDITY, last UID
// committed), and the account's health in email_accounts after a login.
// Contract: last_uid only grows while UIDVALIDITY stays; a reset sets it to 0.
import Postgres

enum IMAPSyncStore {
    /// First key of the two-key advisory lock ("MGIS"); the second is hashtext(account).
    static let lockClass = 0x4D47_4953

    static func tryLock(_ account: String) -> PGStatement {
        PGStatement("SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS locked", [PGValue(lockClass), PGValue(account)])
    }

    static func unlock(_ account: String) -> PGStatement {
        PGStatement("SELECT pg_advisory_unlock($1::int, hashtext($2)) AS unlocked", [PGValue(lockClass), PGValue(account)])
    }

    static func folders(_ account: String) -> PGStatement {
        PGStatement("SELECT name, uidvalidity, last_uid FROM email_folders WHERE account = $1", [PGValue(account)])
    }

    /// A new or changed UIDVALIDITY: the folder starts over. Messages stored from it keep their rows
    /// but lose their old UIDs, which the server may now give to other messages.
    static func resetFolder(_ account: String, _ folder: String, uidValidity: UInt32) -> [PGStatement] {
        [
            PGStatement("""
                INSERT INTO email_folders (account, name, uidvalidity, last_uid, synced_at) VALUES ($1, $2, $3, 0, now())
                ON CONFLICT (account, name) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = 0, synced_at = now()
                """, [PGValue(account), PGValue(folder), PGValue(uidValidity)]),
            PGStatement("UPDATE email_messages SET uid = NULL WHERE account = $1 AND folder = $2 AND uid IS NOT NULL",
                        [PGValue(account), PGValue(folder)]),
        ]
    }

    /// The message with `uid` is committed (or skipped for good).
    static func advance(_ account: String, _ folder: String, uid: UInt32) -> PGStatement {
        PGStatement("""
            INSERT INTO email_folders (account, name, last_uid, synced_at) VALUES ($1, $2, $3, now())
            ON CONFLICT (account, name) DO UPDATE
                SET last_uid = GREATEST(email_folders.last_uid, excluded.last_uid), synced_at = now()
            """, [PGValue(account), PGValue(folder), PGValue(uid)])
    }

    /// After a login: healthy, or unhealthy when the server refused the account's credentials.
    static func health(_ account: String, address: String, healthy: Bool) -> PGStatement {
        PGStatement("""
            INSERT INTO email_accounts AS a (name, address, health, last_health_check_at) VALUES ($1, $2, $3, now())
            ON CONFLICT (name) DO UPDATE SET health = excluded.health, last_health_check_at = now(), updated_at = now()
            """, [PGValue(account), PGValue(address), PGValue(healthy ? "healthy" : "unhealthy")])
    }
}
