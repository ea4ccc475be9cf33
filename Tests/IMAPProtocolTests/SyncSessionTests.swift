// IMAPSyncSession transcripts: SELECT with and without UIDVALIDITY/UIDNEXT,
// FETCH literals in pieces, the `n:*` quirk, UIDVALIDITY changes, EXISTS during
// IDLE, polling without IDLE, refusals, BYE and hostile responses. Each case
// runs fed whole and one byte at a time.
import Testing
@testable import IMAPProtocol

struct SyncCase: CustomStringConvertible, Sendable {
    var name: String
    var folders: [IMAPSyncFolder]
    var capabilities: [String] = ["IMAP4rev1", "IDLE"]
    var maxMessageSize = 1 << 20
    var maxLineLength = 65536
    var steps: [SyncStepBox]
    var description: String { name }
}

/// SyncStep is not Sendable (SyncEvent holds only strings, but keep the table simple).
struct SyncStepBox: Sendable {
    var event: String
    var payload: String
    var expected: [String]

    var step: SyncStep {
        switch event {
        case "start": return SyncStep(.start, expected)
        case "timer": return SyncStep(.timer, expected)
        case "closed": return SyncStep(.closed, expected)
        case "logout": return SyncStep(.logout, expected)
        default: return SyncStep(.server(payload), expected)
        }
    }
}

func start(_ expected: [String]) -> SyncStepBox { SyncStepBox(event: "start", payload: "", expected: expected) }
func server(_ text: String, _ expected: [String] = []) -> SyncStepBox { SyncStepBox(event: "server", payload: text, expected: expected) }
func timer(_ expected: [String]) -> SyncStepBox { SyncStepBox(event: "timer", payload: "", expected: expected) }
func closed(_ expected: [String]) -> SyncStepBox { SyncStepBox(event: "closed", payload: "", expected: expected) }
func logout(_ expected: [String]) -> SyncStepBox { SyncStepBox(event: "logout", payload: "", expected: expected) }

let inbox = [IMAPSyncFolder(name: "INBOX")]
let inboxAt7_5 = [IMAPSyncFolder(name: "INBOX", uidValidity: 7, lastUID: 5)]
let selectFresh = "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] UIDs valid\r\n* OK [UIDNEXT 3] Predicted next UID\r\nS1 OK [READ-WRITE] Select completed\r\n"

let syncCases: [SyncCase] = [
    SyncCase(name: "first sync: reset, fetch two literals, IDLE, EXISTS, DONE, fetch, IDLE again", folders: inbox, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server(selectFresh, ["reset INBOX 7", "C: S2 UID FETCH 1:* (UID BODY.PEEK[])\r\n"]),
        server("* 1 FETCH (UID 1 BODY[] {5}\r\nhello)\r\n* 2 FETCH (UID 2 BODY[] {7}\r\nA\r\nB\r\n.)\r\n",
               ["deliver INBOX 1 hello", "deliver INBOX 2 A\r\nB\r\n."]),
        server("S2 OK Fetch completed\r\n", ["batch INBOX 2 2", "C: S3 IDLE\r\n"]),
        server("+ idling\r\n", ["idling"]),
        server("* 3 EXISTS\r\n", ["C: DONE\r\n"]),
        server("* 1 RECENT\r\nS3 OK Idle completed\r\n", ["C: S4 UID FETCH 3:* (UID BODY.PEEK[])\r\n"]),
        server("* 3 FETCH (UID 3 BODY[] {3}\r\nnew)\r\nS4 OK done\r\n", ["deliver INBOX 3 new", "batch INBOX 1 3", "C: S5 IDLE\r\n"]),
    ]),
    SyncCase(name: "SELECT without UIDVALIDITY or UIDNEXT keeps the stored state and fetches above it", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* 9 EXISTS\r\nS1 OK done\r\n", ["C: S2 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
    ]),
    SyncCase(name: "UIDNEXT at last+1 means nothing new: straight to IDLE", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* 5 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 6] x\r\nS1 OK done\r\n", ["C: S2 IDLE\r\n"]),
    ]),
    SyncCase(name: "the n:* quirk: the highest message below n is skipped", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* 5 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\nS1 OK done\r\n", ["C: S2 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
        server("* 5 FETCH (UID 5 BODY[] {3}\r\nold)\r\nS2 OK done\r\n", ["C: S3 IDLE\r\n"]),
    ]),
    SyncCase(name: "a UIDVALIDITY change resets the folder and fetches from 1", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* 1 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\n* OK [UIDNEXT 2] x\r\nS1 OK done\r\n",
               ["reset INBOX 9", "C: S2 UID FETCH 1:* (UID BODY.PEEK[])\r\n"]),
        server("* 1 FETCH (UID 1 BODY[] {2}\r\nhi)\r\nS2 OK done\r\n", ["deliver INBOX 1 hi", "batch INBOX 1 1", "C: S3 IDLE\r\n"]),
    ]),
    SyncCase(name: "NO to SELECT skips the folder; the IDLE folder is selected last",
             folders: [IMAPSyncFolder(name: "INBOX", uidValidity: 7, lastUID: 5), IMAPSyncFolder(name: "Archive")], steps: [
        start(["C: S1 SELECT \"Archive\"\r\n"]),
        server("S1 NO [NONEXISTENT] Mailbox doesn't exist\r\n",
               ["unavailable Archive Mailbox doesn't exist", "C: S2 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 6] x\r\nS2 OK done\r\n", ["C: S3 IDLE\r\n"]),
    ]),
    SyncCase(name: "NO to the IDLE folder's SELECT: poll instead of IDLE", folders: inbox, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("S1 NO no such mailbox\r\n", ["unavailable INBOX no such mailbox", "wait"]),
        timer(["C: S2 SELECT \"INBOX\"\r\n"]),
    ]),
    SyncCase(name: "BYE during IDLE ends the session", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 6] x\r\nS1 OK done\r\n", ["C: S2 IDLE\r\n"]),
        server("+ idling\r\n* BYE Server shutting down\r\n", ["idling", "failed unavailable: BYE Server shutting down"]),
        server("* 9 EXISTS\r\n", []),
    ]),
    SyncCase(name: "without IDLE the session polls on the timer", folders: inboxAt7_5, capabilities: ["IMAP4rev1"], steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 6] x\r\nS1 OK done\r\n", ["wait"]),
        timer(["C: S2 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 7] x\r\nS2 OK done\r\n", ["C: S3 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
        server("* 6 FETCH (UID 6 BODY[] {1}\r\nx)\r\nS3 OK done\r\n", ["deliver INBOX 6 x", "batch INBOX 1 6", "wait"]),
    ]),
    SyncCase(name: "UID after the literal, FLAGS before it, and a flag-only FETCH ignored", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* 6 EXISTS\r\nS1 OK done\r\n", ["C: S2 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
        server("* 2 FETCH (FLAGS (\\Seen))\r\n* 6 FETCH (FLAGS (\\Seen $X) INTERNALDATE \"1-Jan-2026 00:00:00 +0000\" BODY[] {5}\r\nhello UID 8)\r\nS2 OK done\r\n",
               ["deliver INBOX 8 hello", "batch INBOX 1 8", "C: S3 IDLE\r\n"]),
    ]),
    SyncCase(name: "a quoted body and a NIL body", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("S1 OK done\r\n", ["C: S2 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
        server("* 6 FETCH (UID 6 BODY[] \"a \\\"q\\\"\")\r\n* 7 FETCH (UID 7 BODY[] NIL)\r\nS2 OK done\r\n",
               ["deliver INBOX 6 a \"q\"", "deliver INBOX 7 ", "batch INBOX 2 7", "C: S3 IDLE\r\n"]),
    ]),
    SyncCase(name: "a literal over the size limit is skipped, the next one delivered", folders: inboxAt7_5, maxMessageSize: 4, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("S1 OK done\r\n", ["C: S2 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
        server("* 6 FETCH (UID 6 BODY[] {10}\r\n0123456789)\r\n* 7 FETCH (UID 7 BODY[] {4}\r\nabcd)\r\nS2 OK done\r\n",
               ["too large INBOX 6 10", "deliver INBOX 7 abcd", "batch INBOX 2 7", "C: S3 IDLE\r\n"]),
    ]),
    SyncCase(name: "the poll timer during IDLE ends it and runs a full pass", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDNEXT 6] x\r\nS1 OK done\r\n", ["C: S2 IDLE\r\n"]),
        server("+ idling\r\n", ["idling"]),
        timer(["C: DONE\r\n"]),
        server("S2 OK Idle completed\r\n", ["C: S3 SELECT \"INBOX\"\r\n"]),
    ]),
    SyncCase(name: "the timer before IDLE's continuation: DONE as soon as it comes", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDNEXT 6] x\r\nS1 OK done\r\n", ["C: S2 IDLE\r\n"]),
        timer([]),
        server("+ idling\r\n", ["C: DONE\r\n"]),
        server("S2 OK Idle completed\r\n", ["C: S3 SELECT \"INBOX\"\r\n"]),
    ]),
    SyncCase(name: "IDLE refused: poll from then on", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDNEXT 6] x\r\nS1 OK done\r\n", ["C: S2 IDLE\r\n"]),
        server("S2 BAD IDLE not allowed\r\n", ["wait"]),
        timer(["C: S3 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDNEXT 6] x\r\nS3 OK done\r\n", ["wait"]),
    ]),
    SyncCase(name: "EXISTS during a FETCH fetches again", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("S1 OK done\r\n", ["C: S2 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
        server("* 6 FETCH (UID 6 BODY[] {1}\r\na)\r\n* 7 EXISTS\r\nS2 OK done\r\n",
               ["deliver INBOX 6 a", "batch INBOX 1 6", "C: S3 UID FETCH 7:* (UID BODY.PEEK[])\r\n"]),
        server("* 7 FETCH (UID 7 BODY[] {1}\r\nb)\r\nS3 OK done\r\n", ["deliver INBOX 7 b", "batch INBOX 1 7", "C: S4 IDLE\r\n"]),
    ]),
    SyncCase(name: "an empty folder without UIDNEXT is not fetched", folders: inbox, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* 0 EXISTS\r\n* OK [UIDVALIDITY 3] x\r\nS1 OK done\r\n", ["reset INBOX 3", "C: S2 IDLE\r\n"]),
    ]),
    SyncCase(name: "a folder name a quoted string cannot carry goes as a literal",
             folders: [IMAPSyncFolder(name: "Entwürfe")], capabilities: [], steps: [
        start(["C: S1 SELECT {9+}\r\nEntwürfe\r\n"]),
    ]),
    SyncCase(name: "BAD to SELECT fails the session", folders: inbox, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("S1 BAD what\r\n", ["failed protocol: SELECT answered BAD: what"]),
    ]),
    SyncCase(name: "NO to UID FETCH fails the session", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("S1 OK done\r\n", ["C: S2 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
        server("S2 NO [SERVERBUG] oops\r\n", ["failed protocol: UID FETCH refused: oops"]),
    ]),
    SyncCase(name: "a tag not in flight fails the session", folders: inbox, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("S9 OK done\r\n", ["failed protocol: unexpected tagged response"]),
    ]),
    SyncCase(name: "a continuation outside IDLE fails the session", folders: inbox, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("+ go on\r\n", ["failed protocol: unexpected continuation request"]),
    ]),
    SyncCase(name: "an unreadable FETCH fails the session", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("S1 OK done\r\n", ["C: S2 UID FETCH 6:* (UID BODY.PEEK[])\r\n"]),
        server("* 6 FETCH (UID 99999999999 BODY[] {1}\r\na)\r\n", ["failed protocol: unreadable FETCH response"]),
    ]),
    SyncCase(name: "a response line over the limit fails the session", folders: inbox, maxLineLength: 64, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* OK " + String(repeating: "x", count: 100), ["failed protocol: response line too long"]),
    ]),
    SyncCase(name: "a closed connection fails the session once", folders: inbox, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        closed(["failed unavailable: connection closed"]),
        closed([]),
    ]),
    SyncCase(name: "logout during IDLE says DONE first", folders: inboxAt7_5, steps: [
        start(["C: S1 SELECT \"INBOX\"\r\n"]),
        server("* OK [UIDNEXT 6] x\r\nS1 OK done\r\n", ["C: S2 IDLE\r\n"]),
        server("+ idling\r\n", ["idling"]),
        logout(["C: DONE\r\n", "C: S3 LOGOUT\r\n"]),
        server("* BYE\r\nS3 OK bye\r\n", []),
    ]),
]

@Test(arguments: syncCases)
func syncTranscriptWhole(_ testCase: SyncCase) {
    let configuration = IMAPSyncConfiguration(folders: testCase.folders, capabilities: testCase.capabilities,
                                              maxMessageSize: testCase.maxMessageSize, maxLineLength: testCase.maxLineLength)
    #expect(runSync(configuration, testCase.steps.map(\.step), chunkSize: nil) == testCase.steps.map(\.expected))
}

@Test(arguments: syncCases)
func syncTranscriptByteAtATime(_ testCase: SyncCase) {
    let configuration = IMAPSyncConfiguration(folders: testCase.folders, capabilities: testCase.capabilities,
                                              maxMessageSize: testCase.maxMessageSize, maxLineLength: testCase.maxLineLength)
    #expect(runSync(configuration, testCase.steps.map(\.step), chunkSize: 1) == testCase.steps.map(\.expected))
}
