// Who a message involves, by role (from, to, cc, bcc, reply_to), each address
// lower-cased whole (mailboxes are matched case-insensitively in practice) with
// its decoded display name. Group syntax and comments are handled by the MIME
// address parser; entries without "@" are dropped; duplicates within a role are
// kept once; at most `maxCount` entries per message.
import MIME

public enum ParticipantRole: String, Sendable, CaseIterable {
    case from
    case to
    case cc
    case bcc
    case replyTo = "reply_to"

    var headerName: String {
        switch self {
        case .from: return "From"
        case .to: return "To"
        case .cc: return "Cc"
        case .bcc: return "Bcc"
        case .replyTo: return "Reply-To"
        }
    }
}

public struct Participant: Sendable, Equatable {
    public var role: ParticipantRole
    public var address: String
    public var displayName: String?

    public init(role: ParticipantRole, address: String, displayName: String?) {
        self.role = role
        self.address = address
        self.displayName = displayName
    }
}

public enum Participants {
    public static let maxCount = 1_000

    public static func of(_ headers: Headers) -> [Participant] {
        var out: [Participant] = []
        for role in ParticipantRole.allCases {
            var seen = Set<String>()
            for field in headers.all(role.headerName) {
                for mailbox in AddressList.parse(field.rawValue) {
                    guard out.count < maxCount, let address = normalisedAddress(mailbox.address),
                          seen.insert(address).inserted else { continue }
                    let name = mailbox.displayName.map { SubjectNormaliser.collapse(StoredText.clean($0, limit: 255)) }
                    out.append(Participant(role: role, address: address,
                                           displayName: name.flatMap { $0.isEmpty || $0.lowercased() == address ? nil : $0 }))
                }
            }
        }
        return out
    }

    /// "Bob@Example.COM" -> "bob@example.com"; nil unless it is local@domain of sane length.
    public static func normalisedAddress(_ address: String) -> String? {
        let lowered = StoredText.clean(address, limit: 320).lowercased()
        guard let at = lowered.lastIndex(of: "@"), at != lowered.startIndex,
              lowered.index(after: at) != lowered.endIndex, !lowered.contains(" "), lowered.count < 320 else { return nil }
        return lowered
    }
}
