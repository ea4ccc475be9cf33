import Testing
@Test func placeholderBounce() { #expect(Bool(true)) }
