import Policy
import Testing
import WardenSupport

/// Searches that cannot hang pgwarden.
@Suite("Bounded regular expressions")
struct BoundedRegularExpressionTests {
    @Test("finds, does not find, and gives up on catastrophic backtracking")
    func outcomes() throws {
        let expression = try BoundedRegularExpression("^(a+)+$", budget: .milliseconds(20))
        #expect(expression.search("aaaa") == .found)
        #expect(expression.search("aaab") == .notFound)
        // 2^60 ways to split the a's: without the budget this search would not end.
        #expect(expression.search(String(repeating: "a", count: 60) + "b") == .gaveUp)
    }

    @Test("an invalid expression is refused when compiled")
    func invalid() {
        #expect(throws: (any Error).self) { try BoundedRegularExpression("(unclosed") }
    }

    @Test("a policy's query expression that gives up is no match: nothing is signalled on a guess")
    func queryPatternGivesUp() throws {
        let pattern = try #require(QueryPattern("(x+x+)+y"))
        #expect(pattern.matches("xxy"))
        #expect(!pattern.matches(String(repeating: "x", count: 64)))
    }
}
