// Helpers shared by the IMAPProtocol tests: byte literals, feeding a framer
// whole or one byte at a time, and rendering actions as text for tables.
@testable import IMAPProtocol

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Feeds `input` to a fresh framer in chunks of `chunkSize` (nil: all at once)
/// and collects every event up to the first fatal failure.
func frameAll(_ input: [UInt8], chunkSize: Int?, limits: IMAPCommandLimits = .preLogin) -> [IMAPCommandFramerEvent] {
    var framer = IMAPCommandFramer(limits: limits)
    var events: [IMAPCommandFramerEvent] = []
    let size = max(1, chunkSize ?? input.count)
    var start = 0
    repeat {
        let end = min(input.count, start + size)
        framer.append(input[start..<end])
        start = end
        while true {
            let event = framer.next()
            if event == .needMoreBytes { break }
            events.append(event)
            if case .failure(let failure) = event, failure.isFatal { return events }
        }
    } while start < input.count
    return events
}

func command(_ tag: String, _ name: String, _ arguments: IMAPToken...) -> IMAPCommandFramerEvent {
    .command(IMAPCommand(tag: tag, name: name, arguments: arguments))
}

func atom(_ text: String) -> IMAPToken { .atom(bytes(text)) }
func quoted(_ text: String) -> IMAPToken { .quoted(bytes(text)) }
