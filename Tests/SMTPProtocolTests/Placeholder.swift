import Testing
@Test func placeholderSMTPProtocol() { #expect(Bool(true)) }
