// Coverage-guided fuzzing of the HTTP parsers: requests (the unsubscribe and
// metrics listeners) and responses (webhook receivers, OAuth2 token endpoints),
// including chunked bodies and the end of input. Byte 0 picks the parser, byte 1
// the size of the pieces the rest is fed in.
import HTTPProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let pieceSize = Int(data[1] % 29) + 1
    let input = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    var requests = HTTPRequestParser()
    var responses = HTTPResponseParser()
    var offset = 0
    while offset < input.count {
        let piece = Array(input[offset..<min(offset + pieceSize, input.count)])
        offset += piece.count
        if data[0] & 1 == 0 {
            requests.append(piece)
            var parsed = 0
            while parsed < 1_000, let result = requests.next() {
                parsed += 1
                if case .failure = result { return 0 }
            }
        } else {
            responses.append(piece)
            var parsed = 0
            while parsed < 1_000, let result = responses.next() {
                parsed += 1
                if case .failure = result { return 0 }
            }
        }
    }
    if data[0] & 1 != 0 { _ = responses.endOfInput() }
    return 0
}
