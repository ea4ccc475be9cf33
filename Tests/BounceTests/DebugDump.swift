// Developer aid, not an assertion: with BOUNCE_DEBUG_FILE=name.eml set, prints
// the MIME tree, defects and the classifier's JSON lines for that corpus file.
import Bounce
import Foundation
import MIME
import Testing

@Test(.enabled(if: ProcessInfo.processInfo.environment["BOUNCE_DEBUG_FILE"] != nil))
func debugDumpCorpusFile() throws {
    let name = ProcessInfo.processInfo.environment["BOUNCE_DEBUG_FILE"] ?? ""
    let bytes = try Corpus.bytes(name)
    let message = MIMEParser.parse(bytes)
    func dump(_ part: MIMEPart, _ depth: Int) {
        let pad = String(repeating: "  ", count: depth)
        print("\(pad)\(part.contentType.mimeType) headers=\(part.headers.fields.count) body=\(part.body.count) ds=\(part.deliveryStatus?.recipients.count ?? -1)")
        for child in part.children { dump(child, depth + 1) }
        if let embedded = part.embedded { dump(embedded.root, depth + 1) }
    }
    dump(message.root, 0)
    print("defects: \(message.defects)")
    for line in BounceJSON.lines(file: name, report: BounceClassifier.classify(bytes)) { print(line) }
    #expect(!bytes.isEmpty)
}
