import Testing
@Test func placeholderIMAPProtocol() { #expect(Bool(true)) }
