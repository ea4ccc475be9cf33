import MailCore
import Testing

@Suite struct LineFramerTests {
    private func frames(_ input: [UInt8], limit: Int, chunk: Int) -> [LineFramer.Frame] {
        var framer = LineFramer(maxLineLength: limit)
        var out: [LineFramer.Frame] = []
        var offset = 0
        while offset < input.count {
            let end = min(input.count, offset + chunk)
            framer.append(input[offset..<end])
            while let frame = framer.next() { out.append(frame) }
            #expect(framer.bufferedCount <= limit)
            offset = end
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func splitsCRLFAndBareLF(chunk: Int) {
        let input = Array("EHLO a\r\nNOOP\nQUIT\r\npartial".utf8)
        #expect(frames(input, limit: 100, chunk: chunk) == [
            .line(Array("EHLO a".utf8), crlf: true),
            .line(Array("NOOP".utf8), crlf: false),
            .line(Array("QUIT".utf8), crlf: true),
        ])
    }

    @Test(arguments: [1, 5, 64, 100_000])
    func overlongLineIsRefusedOnceAndNotBuffered(chunk: Int) {
        let input = [UInt8](repeating: 0x41, count: 100_000) + Array("\r\nNEXT\r\n".utf8)
        #expect(frames(input, limit: 1000, chunk: chunk) == [.tooLong, .line(Array("NEXT".utf8), crlf: true)])
    }

    @Test func lineOfExactlyTheLimitPasses() {
        let input = [UInt8](repeating: 0x42, count: 998) + [0x0D, 0x0A]
        #expect(frames(input, limit: 1000, chunk: 1) == [.line([UInt8](repeating: 0x42, count: 998), crlf: true)])
        let longer = [UInt8](repeating: 0x42, count: 999) + [0x0D, 0x0A]
        #expect(frames(longer, limit: 1000, chunk: 1000) == [.tooLong])
    }

    @Test func remainderIsHandedOver() {
        var framer = LineFramer(maxLineLength: 100)
        framer.append(Array("STARTTLS\r\nMAIL FROM:<a@b>\r\n".utf8))
        #expect(framer.next() == .line(Array("STARTTLS".utf8), crlf: true))
        #expect(framer.takeRemainder() == Array("MAIL FROM:<a@b>\r\n".utf8))
        #expect(framer.next() == nil)
    }
}
