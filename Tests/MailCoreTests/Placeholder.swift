import Testing
@Test func placeholderMailCore() { #expect(Bool(true)) }
