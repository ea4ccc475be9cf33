import Testing
@Test func placeholderRelayPolicy() { #expect(Bool(true)) }
