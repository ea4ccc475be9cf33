import Testing
@Test func placeholderMailgate() { #expect(Bool(true)) }
