import Auth
import Dispatch
import Synchronization
import Testing

/// One SASL server for the suite: Cyrus's callbacks are process-wide.
private let users = UserDirectory(hashes: [
    "crm": try! PasswordHash.make("s3cret pass", scheme: .sha512),
    "app": try! PasswordHash.make("other", scheme: .yescrypt),
])
private let server = SASLServer(service: "smtp", hostname: "mail.example.test", users: users)

/// Runs one SASL call and waits (bounded) for its reply.
private func exchange(_ call: (@escaping SASLServer.Reply) -> Void) -> SASLStep? {
    let result = Mutex<SASLStep?>(nil)
    let done = DispatchSemaphore(value: 0)
    call { step in
        result.withLock { $0 = step }
        done.signal()
    }
    guard done.wait(timeout: .now() + 10) == .success else { return nil }
    return result.withLock { $0 }
}

private func plain(_ authzid: String, _ user: String, _ password: String) -> [UInt8] {
    Array(authzid.utf8) + [0] + Array(user.utf8) + [0] + Array(password.utf8)
}

@Suite(.serialized) struct SASLServerTests {
    @Test func plainWithTheRightPasswordSucceeds() {
        let id = server.makeSessionID()
        let step = exchange { server.start(session: id, mechanism: "PLAIN", initialResponse: plain("", "crm", "s3cret pass"), secure: true, reply: $0) }
        #expect(step == .success(user: "crm"))
    }

    @Test(arguments: [("crm", "wrong"), ("crm", ""), ("nobody", "s3cret pass"), ("CRM", "s3cret pass")])
    func plainWithBadCredentialsFails(user: String, password: String) {
        let id = server.makeSessionID()
        let step = exchange { server.start(session: id, mechanism: "PLAIN", initialResponse: plain("", user, password), secure: true, reply: $0) }
        guard case .failure = step else {
            Issue.record("expected failure, got \(String(describing: step))")
            return
        }
    }

    @Test func plainWithoutInitialResponseAsksForIt() {
        let id = server.makeSessionID()
        let first = exchange { server.start(session: id, mechanism: "PLAIN", initialResponse: nil, secure: true, reply: $0) }
        #expect(first == .challenge([]))
        let second = exchange { server.step(session: id, response: plain("", "app", "other"), reply: $0) }
        #expect(second == .success(user: "app"))
    }

    @Test func loginAsksForUserThenPassword() {
        let id = server.makeSessionID()
        let first = exchange { server.start(session: id, mechanism: "LOGIN", initialResponse: nil, secure: true, reply: $0) }
        guard case .challenge = first else {
            Issue.record("expected a challenge, got \(String(describing: first))")
            return
        }
        let second = exchange { server.step(session: id, response: Array("crm".utf8), reply: $0) }
        guard case .challenge = second else {
            Issue.record("expected a challenge, got \(String(describing: second))")
            return
        }
        let third = exchange { server.step(session: id, response: Array("s3cret pass".utf8), reply: $0) }
        #expect(third == .success(user: "crm"))
    }

    @Test(arguments: ["PLAIN", "LOGIN"])
    func plaintextMechanismsAreRefusedWithoutTLS(mechanism: String) {
        let id = server.makeSessionID()
        let step = exchange { server.start(session: id, mechanism: mechanism, initialResponse: plain("", "crm", "s3cret pass"), secure: false, reply: $0) }
        guard case .failure = step else {
            Issue.record("expected failure, got \(String(describing: step))")
            return
        }
    }

    @Test func unknownMechanismFails() {
        let id = server.makeSessionID()
        let step = exchange { server.start(session: id, mechanism: "CRAM-MD5", initialResponse: nil, secure: true, reply: $0) }
        guard case .failure = step else {
            Issue.record("expected failure, got \(String(describing: step))")
            return
        }
    }

    @Test func stepWithoutStartFails() {
        let step = exchange { server.step(session: server.makeSessionID(), response: [1, 2], reply: $0) }
        #expect(step == .failure(reason: "no exchange in progress"))
    }
}

@Suite struct UserDirectoryTests {
    @Test func cachedVerificationStillRefusesAnotherPassword() throws {
        let directory = UserDirectory(hashes: ["u": try PasswordHash.make("pw", scheme: .sha512)])
        #expect(directory.verify(user: "u", password: Array("pw".utf8)))
        #expect(directory.verify(user: "u", password: Array("pw".utf8)))
        #expect(!directory.verify(user: "u", password: Array("pX".utf8)))
    }

    @Test func theLoopAnswersOnlyWhatWasVerifiedBefore() throws {
        let directory = UserDirectory(hashes: ["u": try PasswordHash.make("pw", scheme: .sha512)])
        #expect(directory.cachedVerification(user: "u", password: Array("pw".utf8)) == nil)
        #expect(directory.verify(user: "u", password: Array("pw".utf8)))
        #expect(directory.cachedVerification(user: "u", password: Array("pw".utf8)) == true)
        #expect(directory.cachedVerification(user: "u", password: Array("pX".utf8)) == nil)
        #expect(directory.cachedVerification(user: "nobody", password: Array("pw".utf8)) == nil)
        directory.replace(hashes: ["u": try PasswordHash.make("pw", scheme: .sha512)])
        #expect(directory.cachedVerification(user: "u", password: Array("pw".utf8)) == nil)
    }

    @Test func cachedEntriesExpire() throws {
        let directory = UserDirectory(hashes: ["u": try PasswordHash.make("pw", scheme: .sha512)], cacheLifetime: .zero)
        #expect(directory.verify(user: "u", password: Array("pw".utf8)))
        #expect(directory.cachedVerification(user: "u", password: Array("pw".utf8)) == nil)
    }

    @Test func replacingUsersDropsTheCache() throws {
        let directory = UserDirectory(hashes: ["u": try PasswordHash.make("pw", scheme: .sha512)])
        #expect(directory.verify(user: "u", password: Array("pw".utf8)))
        directory.replace(hashes: ["u": try PasswordHash.make("new", scheme: .sha512)])
        #expect(!directory.verify(user: "u", password: Array("pw".utf8)))
        #expect(directory.verify(user: "u", password: Array("new".utf8)))
    }
}
