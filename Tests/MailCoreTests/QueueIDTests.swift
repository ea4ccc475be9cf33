import MailCore
import Testing

@Suite struct QueueIDTests {
    @Test func idsSortByTimeAndAreWellFormed() {
        let times: [UInt64] = [0, 1, 31, 32, 1 << 49, 1_790_000_000_000_000, 1_790_000_000_000_001, (1 << 55) - 1]
        let ids = times.map { QueueID.make(microseconds: $0, random: 0x3FFF_FFFF) }
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { QueueID.isValid($0) })
        #expect(Set(ids).count == ids.count)
    }

    @Test func randomBitsDistinguishIdsOfTheSameMicrosecond() {
        let a = QueueID.make(microseconds: 42, random: 1)
        let b = QueueID.make(microseconds: 42, random: 2)
        #expect(a != b)
        #expect(a.prefix(11) == b.prefix(11))
    }

    @Test(arguments: ["", "0123456789ABCDEFG0", "0123456789ABCDEFI", "0123456789abcdefg", "0123456789ABCDEFG"])
    func validation(text: String) {
        #expect(QueueID.isValid(text) == (text == "0123456789ABCDEFG"))
    }
}
