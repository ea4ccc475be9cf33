// Runs the classifier over every message of the shared corpus and measures
// agreement with Sisimai 4.25's labels: recipients found, statuses (only where
// Sisimai did not invent one), hard/soft kind, and bounce/non-bounce per file.
// Thresholds sit a little below the figures reached; the figures are printed.
// Set BOUNCE_CORPUS_VERBOSE=1 to print every disagreement.
//
// Where Sisimai 4.25 is plainly wrong (these count against us on purpose, no special cases):
// - NXDOMAIN "Domain name not found" (rfc3464-53/64, rhost-gsuite-04/15): labelled networkerror/soft;
//   the domain does not exist, so it is hostunknown/hard.
// - rfc3834-05: an auto-reply announcing a new address ("zukünftig karl@hanz.de"), labelled a bounce.
// - lhost-postfix-13: kijitora's own group says "Status: 5.2.1 ... User Unknown"; the label carries
//   5.2.2/mailboxfull from the next recipient's group. rfc3464-01: "550 5.1.1 User Unknown" labelled mailboxfull.
// - lhost-domino-03: Final-Recipient names neko.example.org; the label takes .com from the prose.
// - lhost-fml-02/03: mailing-list manager notices (not a member, loop alert), not delivery failures.
// - Sisimai cannot parse lhost-dragonfly-*: we count how many of those we do recognise.
import Bounce
import Foundation
import Testing

struct CorpusLabel {
    let file: String
    let isBounce: Bool
    let recipient: String?
    let status: String?
    let statusPseudo: Bool
    let kind: String?
    let reason: String?
}

enum Corpus {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/corpus")

    static var available: Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent("bounces").path) }

    static func labels() throws -> [CorpusLabel] {
        let text = try String(contentsOf: directory.appendingPathComponent("bounces-labels.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            return CorpusLabel(file: object["file"] as? String ?? "", isBounce: object["is_bounce"] as? Bool ?? false,
                               recipient: object["recipient"] as? String, status: object["status"] as? String,
                               statusPseudo: object["status_pseudo"] as? Bool ?? false,
                               kind: object["kind"] as? String, reason: object["reason"] as? String)
        }
    }

    static func messageFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("bounces").path)
            .filter { $0.hasSuffix(".eml") }.sorted()
    }

    static func bytes(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent("bounces").appendingPathComponent(file)))
    }
}

struct Agreement {
    var recipientsLabelled = 0, recipientsFound = 0, recipientsExtra = 0
    var statusCompared = 0, statusAgreed = 0
    var kindCompared = 0, kindAgreed = 0
    var reasonCompared = 0, reasonAgreed = 0
    var filesCompared = 0, filesAgreed = 0
    var unlabelledFiles = 0, unlabelledFound = 0
    var notes: [String] = []

    static func ratio(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 1 : Double(part) / Double(whole) }
    var recipientRate: Double { Self.ratio(recipientsFound, recipientsLabelled) }
    var statusRate: Double { Self.ratio(statusAgreed, statusCompared) }
    var kindRate: Double { Self.ratio(kindAgreed, kindCompared) }
    var reasonRate: Double { Self.ratio(reasonAgreed, reasonCompared) }
    var fileRate: Double { Self.ratio(filesAgreed, filesCompared) }
}

func measureCorpus() throws -> Agreement {
    let labels = try Corpus.labels()
    let byFile = Dictionary(grouping: labels, by: \.file)
    var agreement = Agreement()
    for file in try Corpus.messageFiles() {
        let report = BounceClassifier.classify(try Corpus.bytes(file))
        let fileLabels = byFile[file] ?? []
        // Sisimai 4.25 cannot parse DragonFly and Mimecast bounces (null labels): nothing to compare.
        guard fileLabels.contains(where: { $0.recipient != nil }) else {
            agreement.notes.append("unlabelled \(file): ours is_bounce=\(report.isBounce) \(report.recipients.map { "\($0.recipient) \($0.status ?? "-") \($0.reason.rawValue)" })")
            agreement.unlabelledFiles += 1
            if report.isBounce, !report.recipients.isEmpty { agreement.unlabelledFound += 1 }
            continue
        }
        agreement.filesCompared += 1
        if fileLabels[0].isBounce == report.isBounce { agreement.filesAgreed += 1 } else {
            agreement.notes.append("is_bounce \(file): sisimai=\(fileLabels[0].isBounce) ours=\(report.isBounce)")
        }
        let ours = Dictionary(report.recipients.map { ($0.recipient, $0) }, uniquingKeysWith: { first, _ in first })
        let labelled = Set(fileLabels.compactMap { $0.recipient?.lowercased() })
        agreement.recipientsExtra += ours.keys.filter { !labelled.contains($0) }.count
        for label in fileLabels {
            guard let recipient = label.recipient?.lowercased() else { continue }
            agreement.recipientsLabelled += 1
            guard let result = ours[recipient] else {
                agreement.notes.append("recipient \(file): missing \(recipient), ours \(report.recipients.map(\.recipient))")
                continue
            }
            agreement.recipientsFound += 1
            if let status = label.status, !label.statusPseudo {
                agreement.statusCompared += 1
                if result.status == status { agreement.statusAgreed += 1 } else {
                    agreement.notes.append("status \(file) \(recipient): sisimai=\(status) ours=\(result.status ?? "nil")")
                }
            }
            if let kind = label.kind {
                agreement.kindCompared += 1
                if result.kind?.rawValue == kind { agreement.kindAgreed += 1 } else {
                    agreement.notes.append("kind \(file) \(recipient): sisimai=\(kind)/\(label.reason ?? "") ours=\(result.kind?.rawValue ?? "nil")/\(result.reason.rawValue) diag=\(result.diagnostic?.prefix(160) ?? "")")
                }
            }
            if let reason = label.reason {
                agreement.reasonCompared += 1
                if result.reason.rawValue == reason { agreement.reasonAgreed += 1 } else {
                    agreement.notes.append("reason \(file) \(recipient): sisimai=\(reason) ours=\(result.reason.rawValue) diag=\(result.diagnostic?.prefix(160) ?? "")")
                }
            }
        }
    }
    return agreement
}

@Test(.enabled(if: Corpus.available, "the shared corpus is not next to this worktree"))
func corpusAgreementWithSisimai() throws {
    let agreement = try measureCorpus()
    if ProcessInfo.processInfo.environment["BOUNCE_CORPUS_VERBOSE"] != nil {
        for note in agreement.notes { print(note) }
    }
    func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
    print("corpus agreement: recipients \(agreement.recipientsFound)/\(agreement.recipientsLabelled) \(percent(agreement.recipientRate)) (extra \(agreement.recipientsExtra)), statuses \(agreement.statusAgreed)/\(agreement.statusCompared) \(percent(agreement.statusRate)), hard/soft \(agreement.kindAgreed)/\(agreement.kindCompared) \(percent(agreement.kindRate)), reasons \(agreement.reasonAgreed)/\(agreement.reasonCompared) \(percent(agreement.reasonRate)), is_bounce \(agreement.filesAgreed)/\(agreement.filesCompared) \(percent(agreement.fileRate)); bounces Sisimai could not parse found \(agreement.unlabelledFound)/\(agreement.unlabelledFiles)")
    // Reached: recipients 98.8%, statuses 98.2%, hard/soft 91.0%, is_bounce 99.0%, unparsed-by-Sisimai 20/20
    // (reasons, not a target: 67.1%, mostly Sisimai calling "user unknown" filtered per provider).
    // Issue targets: >= 95% recipients, >= 90% statuses, >= 90% hard/soft.
    #expect(agreement.recipientRate >= 0.97)
    #expect(agreement.statusRate >= 0.96)
    #expect(agreement.kindRate >= 0.895)
    #expect(agreement.fileRate >= 0.97)
    #expect(agreement.unlabelledFound >= agreement.unlabelledFiles - 2)
}
