// The sync of an account's folders over a logged-in IMAP session, as a pure
// state machine: a pass SELECTs each folder (the IDLE folder last), resets it
// when UIDVALIDITY changed, and fetches `UID FETCH last+1:* (UID BODY.PEEK[])`
// unless UIDNEXT shows nothing new; then IDLE on the first folder (DONE and fetch
// on EXISTS) or wait for the poll timer. `n:*` also returns the highest message
// when it is below n: such UIDs are skipped.
// Contract: call start(), feed server bytes to receive(), run the actions in order.
import MailCore

public struct IMAPSyncSession: Sendable {
    enum Step: Hashable, Sendable {
        case notStarted
        case selecting(tag: String, folder: Int)
        case fetching(tag: String, folder: Int, floor: UInt32)
        case idleStarting(tag: String)
        case idling(tag: String)
        case idleEnding(tag: String)
        case waiting
        case finished
    }

    public private(set) var folders: [IMAPSyncFolder]
    /// The server offers IDLE and has not refused it.
    private var idleOffered: Bool
    private var framer: IMAPResponseFramer
    private var step: Step = .notStarted
    private var tagCounter = 0
    /// Folder indices in pass order: the IDLE folder (index 0) last, so it stays selected.
    private let passOrder: [Int]
    private var passPosition = 0
    /// The pass is only a fetch of the IDLE folder after an EXISTS.
    private var idleFetchOnly = false
    /// Set by the poll timer while IDLE is being started or ended: run a full pass next.
    private var fullPassDue = false
    /// An EXISTS arrived while a FETCH ran: fetch the folder again afterwards.
    private var arrivedDuringFetch = false
    /// What the SELECT in flight learnt.
    private var selectedValidity: UInt32?
    private var selectedNext: UInt32?
    private var selectedExists: Int?
    /// The folder last selected successfully, if any.
    private var selectedFolder: Int?
    private var fetchedCount = 0

    public init(configuration: IMAPSyncConfiguration) {
        folders = configuration.folders
        idleOffered = IMAPCapabilities.contains(configuration.capabilities, "IDLE")
        framer = IMAPResponseFramer(maxLineLength: configuration.maxLineLength,
                                    maxLiteralSize: configuration.maxMessageSize)
        passOrder = Array(configuration.folders.indices.dropFirst()) + (configuration.folders.isEmpty ? [] : [0])
    }

    public var isFinished: Bool { step == .finished }

    // MARK: Events

    /// Starts the first pass.
    public mutating func start() -> [IMAPSyncAction] {
        guard step == .notStarted else { return [] }
        return startPass()
    }

    public mutating func receive(_ bytes: some Collection<UInt8>) -> [IMAPSyncAction] {
        guard step != .finished else { return [] }
        framer.append(bytes)
        var actions: [IMAPSyncAction] = []
        while step != .finished {
            switch framer.next() {
            case .needMoreBytes:
                return actions
            case .failure(let reason):
                actions += finish(.protocolError(reason))
            case .frame(let frame):
                actions += handle(frame)
            }
        }
        return actions
    }

    /// The poll interval passed: renew IDLE (DONE, then a full pass) or run the next pass.
    public mutating func timerFired() -> [IMAPSyncAction] {
        switch step {
        case .idling(let tag):
            fullPassDue = true
            step = .idleEnding(tag: tag)
            return [.send(Array("DONE\r\n".utf8))]
        case .waiting:
            return startPass()
        case .idleStarting, .idleEnding:
            fullPassDue = true
            return []
        case .notStarted, .selecting, .fetching, .finished:
            return []
        }
    }

    /// The server closed the connection.
    public mutating func connectionClosed() -> [IMAPSyncAction] {
        guard step != .finished else { return [] }
        return finish(.unavailable("connection closed"))
    }

    /// Ends the session politely: leaves IDLE when in it, then LOGOUT. No action follows.
    public mutating func logout() -> [IMAPSyncAction] {
        var actions: [IMAPSyncAction] = []
        switch step {
        case .finished:
            return []
        case .idling:
            actions.append(.send(Array("DONE\r\n".utf8)))
        case .notStarted, .selecting, .fetching, .idleStarting, .idleEnding, .waiting:
            break
        }
        actions.append(.send(Array((nextTag() + " LOGOUT\r\n").utf8)))
        step = .finished
        return actions
    }

    // MARK: Responses

    private mutating func handle(_ frame: IMAPResponseFrame) -> [IMAPSyncAction] {
        guard let response = frame.response else { return finish(.protocolError("not an IMAP response")) }
        switch response.kind {
        case .continuation:
            guard case .idleStarting(let tag) = step else {
                return finish(.protocolError("unexpected continuation request"))
            }
            if fullPassDue {
                step = .idleEnding(tag: tag)
                return [.send(Array("DONE\r\n".utf8))]
            }
            step = .idling(tag: tag)
            return [.idling]
        case .untagged:
            return untagged(response, frame)
        case .tagged(let tag):
            guard tag == currentTag, let status = response.status else {
                return finish(.protocolError("unexpected tagged response"))
            }
            return tagged(status, response)
        }
    }

    private mutating func untagged(_ response: IMAPServerResponse, _ frame: IMAPResponseFrame) -> [IMAPSyncAction] {
        if response.status == .bye { return finish(.unavailable("BYE " + response.text)) }
        switch step {
        case .selecting:
            if response.status == .ok, let name = response.codeName, let value = response.code.dropFirst().first {
                if name == "UIDVALIDITY" { selectedValidity = IMAPFetchResponse.uint32(Array(value.utf8)) }
                if name == "UIDNEXT" { selectedNext = IMAPFetchResponse.uint32(Array(value.utf8)) }
            }
            if isExists(response) { selectedExists = Int(response.data[0]) }
            return []
        case .fetching(_, let folder, let floor):
            if isExists(response) { arrivedDuringFetch = true; return [] }
            return fetched(frame, folder: folder, floor: floor)
        case .idleStarting, .idling:
            guard isExists(response) else { return [] }
            if case .idling(let tag) = step {
                step = .idleEnding(tag: tag)
                return [.send(Array("DONE\r\n".utf8))]
            }
            return []
        case .notStarted, .idleEnding, .waiting, .finished:
            return []
        }
    }

    private func isExists(_ response: IMAPServerResponse) -> Bool {
        response.status == nil && response.data.count >= 2 && response.data[1].uppercased() == "EXISTS"
    }

    private mutating func fetched(_ frame: IMAPResponseFrame, folder: Int, floor: UInt32) -> [IMAPSyncAction] {
        guard let fetch = IMAPFetchResponse.parse(frame) else {
            // Another untagged response (RECENT, EXPUNGE, FLAGS...), or a FETCH we cannot read.
            let words = frame.response?.data ?? []
            if words.count >= 2, words[1].uppercased() == "FETCH" { return finish(.protocolError("unreadable FETCH response")) }
            return []
        }
        // Flag updates carry no body; `n:*` brings back the highest message even when below n.
        guard let uid = fetch.uid, let body = fetch.body, uid > floor else { return [] }
        let name = folders[folder].name
        folders[folder].lastUID = max(folders[folder].lastUID, uid)
        fetchedCount += 1
        switch body {
        case .bytes(let message):
            return [.deliver(folder: name, uid: uid, message: message)]
        case .tooLarge(let size):
            return [.skipTooLarge(folder: name, uid: uid, size: size)]
        }
    }

    private mutating func tagged(_ status: IMAPResponseStatus, _ response: IMAPServerResponse) -> [IMAPSyncAction] {
        switch step {
        case .selecting(_, let folder):
            return selected(status, response, folder: folder)
        case .fetching(_, let folder, _):
            guard status == .ok else { return finish(.protocolError("UID FETCH refused: " + response.text)) }
            var actions: [IMAPSyncAction] = []
            if fetchedCount > 0 {
                actions.append(.batchFetched(folder: folders[folder].name, count: fetchedCount,
                                             lastUID: folders[folder].lastUID))
            }
            if arrivedDuringFetch { return actions + fetch(folder) }
            return actions + folderDone()
        case .idleStarting:
            // IDLE refused: poll instead from now on.
            guard status == .ok else {
                idleOffered = false
                return wait()
            }
            return afterIdle()
        case .idleEnding:
            guard status == .ok else { return finish(.protocolError("IDLE ended with " + status.rawValue)) }
            return afterIdle()
        case .notStarted, .idling, .waiting, .finished:
            return finish(.protocolError("unexpected tagged response"))
        }
    }

    private mutating func selected(_ status: IMAPResponseStatus, _ response: IMAPServerResponse,
                                   folder: Int) -> [IMAPSyncAction] {
        switch status {
        case .ok:
            selectedFolder = folder
            var actions: [IMAPSyncAction] = []
            if let validity = selectedValidity, folders[folder].uidValidity != validity {
                folders[folder].uidValidity = validity
                folders[folder].lastUID = 0
                actions.append(.resetFolder(folder: folders[folder].name, uidValidity: validity))
            }
            // Nothing above the last UID (or an empty folder, where some servers refuse `1:*`).
            if let next = selectedNext, UInt64(next) <= UInt64(folders[folder].lastUID) + 1 {
                return actions + folderDone()
            }
            if selectedExists == 0 { return actions + folderDone() }
            return actions + fetch(folder)
        case .no:
            selectedFolder = nil
            return [.folderUnavailable(folder: folders[folder].name, reason: response.text)] + folderDone()
        case .bad, .bye, .preauth:
            return finish(.protocolError("SELECT answered " + status.rawValue + ": " + response.text))
        }
    }

    // MARK: Commands

    private mutating func startPass() -> [IMAPSyncAction] {
        fullPassDue = false
        idleFetchOnly = false
        passPosition = 0
        guard let first = passOrder.first else { return wait() }
        return select(first)
    }

    private mutating func select(_ folder: Int) -> [IMAPSyncAction] {
        selectedValidity = nil
        selectedNext = nil
        selectedExists = nil
        let name = Array(folders[folder].name.utf8)
        let tag = nextTag()
        let argument = IMAPWriter.quoted(name) ?? Array("{\(name.count)+}\r\n".utf8) + name
        step = .selecting(tag: tag, folder: folder)
        return [.send(Array((tag + " SELECT ").utf8) + argument + [0x0D, 0x0A])]
    }

    private mutating func fetch(_ folder: Int) -> [IMAPSyncAction] {
        let floor = folders[folder].lastUID
        guard floor < UInt32.max else { return folderDone() }
        arrivedDuringFetch = false
        fetchedCount = 0
        let tag = nextTag()
        step = .fetching(tag: tag, folder: folder, floor: floor)
        return [.send(Array((tag + " UID FETCH \(UInt64(floor) + 1):* (UID BODY.PEEK[])\r\n").utf8))]
    }

    /// The current folder is done: the next one of the pass, or IDLE / waiting at its end.
    private mutating func folderDone() -> [IMAPSyncAction] {
        if !idleFetchOnly {
            passPosition += 1
            if passPosition < passOrder.count { return select(passOrder[passPosition]) }
        }
        idleFetchOnly = false
        guard idleOffered, selectedFolder == 0 else { return wait() }
        if fullPassDue { return startPass() }
        let tag = nextTag()
        step = .idleStarting(tag: tag)
        return [.send(Array((tag + " IDLE\r\n").utf8))]
    }

    private mutating func afterIdle() -> [IMAPSyncAction] {
        if fullPassDue { return startPass() }
        idleFetchOnly = true
        return fetch(0)
    }

    private mutating func wait() -> [IMAPSyncAction] {
        step = .waiting
        return [.waitForPoll]
    }

    private var currentTag: String? {
        switch step {
        case .selecting(let tag, _), .fetching(let tag, _, _), .idleStarting(let tag), .idling(let tag),
             .idleEnding(let tag):
            return tag
        case .notStarted, .waiting, .finished:
            return nil
        }
    }

    private mutating func nextTag() -> String {
        tagCounter += 1
        return "S\(tagCounter)"
    }

    private mutating func finish(_ failure: IMAPSyncFailure) -> [IMAPSyncAction] {
        step = .finished
        return [.failed(failure)]
    }
}
