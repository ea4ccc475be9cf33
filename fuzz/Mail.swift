// Coverage-guided fuzzing of what reads inbound mail: MIME parsing, message
// facts (participants, dates, snippet, attachments and their SHA-256) and the
// bounce classifier (DSN, ARF, vendor formats, free text). The first byte picks
// the MIME limits, so the tight ones are reached too.
import Bounce
import MIME
import Threading

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let tight = data[0] & 1 != 0
    let message = MIMEParser.parse(input, limits: tight ? MIMELimits(maxDepth: 3, maxParts: 8) : MIMELimits())
    _ = MessageAnalysis.facts(message)
    _ = BounceClassifier.classify(input)
    return 0
}
