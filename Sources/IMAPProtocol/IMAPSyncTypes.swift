// Configuration, actions and failures of IMAPSyncSession (mailgate keeping an
// account's folders in sync after it has logged in upstream).
// Contract: UIDs are IMAP's 32-bit nz-numbers; a folder's lastUID is the
// highest UID whose message is committed (0: none yet).

/// One folder's sync state as stored (email_folders) when the session starts.
public struct IMAPSyncFolder: Sendable, Hashable {
    public var name: String
    /// nil until the folder was first selected.
    public var uidValidity: UInt32?
    public var lastUID: UInt32

    public init(name: String, uidValidity: UInt32? = nil, lastUID: UInt32 = 0) {
        self.name = name
        self.uidValidity = uidValidity
        self.lastUID = lastUID
    }
}

public struct IMAPSyncConfiguration: Sendable, Hashable {
    /// The folders to sync; the first one is watched with IDLE between passes.
    public var folders: [IMAPSyncFolder]
    /// The capabilities the server announced after login.
    public var capabilities: [String]
    /// Larger messages are reported with `skipTooLarge` instead of being delivered.
    public var maxMessageSize: Int
    public var maxLineLength: Int

    public init(folders: [IMAPSyncFolder], capabilities: [String], maxMessageSize: Int = 64 << 20,
                maxLineLength: Int = 65536) {
        self.folders = folders
        self.capabilities = capabilities
        self.maxMessageSize = maxMessageSize
        self.maxLineLength = maxLineLength
    }
}

public enum IMAPSyncFailure: Sendable, Hashable {
    /// BYE, a closed connection: reconnect later and resume from the stored last UID.
    case unavailable(String)
    /// BAD, a refused FETCH, unparseable responses: reconnect later as well.
    case protocolError(String)
}

public enum IMAPSyncAction: Sendable, Hashable {
    /// Write these bytes to the server.
    case send([UInt8])
    /// The folder's UIDVALIDITY is new or changed: store it with last UID 0
    /// before any message of the folder that follows.
    case resetFolder(folder: String, uidValidity: UInt32)
    /// A new message: ingest it, then store `uid` as the folder's last UID.
    case deliver(folder: String, uid: UInt32, message: [UInt8])
    /// A message above the size limit: store `uid` as the last UID without ingesting it.
    case skipTooLarge(folder: String, uid: UInt32, size: Int)
    /// A UID FETCH finished having brought `count` (> 0) new messages.
    case batchFetched(folder: String, count: Int, lastUID: UInt32)
    /// SELECT was refused (the folder does not exist, no rights): skipped this pass.
    case folderUnavailable(folder: String, reason: String)
    /// IDLE is running: call `timerFired()` after the poll interval to renew it.
    case idling
    /// The server has no IDLE: call `timerFired()` after the poll interval.
    case waitForPoll
    /// The session cannot go on: close the connection.
    case failed(IMAPSyncFailure)
}
