import Policy
import Testing
import WardenSupport

/// Searches that cannot hang pgwarden.
@Suite("Bounded regular expressions")
struct BoundedRegularExpressionTests {
    @Test("finds, does not find, and answers at once where a backtracking engine would not end")
    func outcomes() throws {
        let expression = try BoundedRegularExpression("^(a+)+$", budget: .milliseconds(20))
        #expect(expression.search("aaaa") == .found)
        #expect(expression.search("aaab") == .notFound)
        // 2^60 ways to split the a's: a backtracking engine (ICU) would not end without the budget.
        #expect(expression.search(String(repeating: "a", count: 60) + "b") == .notFound)
        // 64 KiB of them, the most of a command line that --match searches: some 40 ms in a release build.
        let long = try BoundedRegularExpression("^(a+)+$", budget: .seconds(30))
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(long.search(String(repeating: "a", count: 64 * 1024) + "b") == .notFound)
        }
        #expect(elapsed < .seconds(10), "\(elapsed)")
    }

    @Test("a search that runs past its budget gives up")
    func budget() throws {
        let expression = try BoundedRegularExpression("x", budget: .nanoseconds(1))
        #expect(expression.search(String(repeating: "a", count: 1 << 20)) == .gaveUp)
    }

    @Test(
        "the documented syntax",
        arguments: [
            ("(?i)^\\s*delete", "  DELETE FROM t", true), ("(?i)^\\s*delete", "select 1; delete", false),
            ("^\\s*delete", "  DELETE FROM t", false), ("report_\\d+\\.py", "python report_12.py", true),
            ("[a-c]{2,3}x", "zzabx", true), ("[a-c]{3}x", "zzabx", false), ("^(foo|bar)$", "bar", true),
            ("^(foo|bar)$", "bars", false), ("a$", "xa\n", true), ("a$", "xa\nb", false), ("(?m)a$", "xa\nb", true),
            ("\\bcat\\b", "a cat sat", true), ("\\bcat\\b", "concatenate", false),
            ("[^[:space:]]+=", "  key=value", true), ("\\x41\\u00e9", "A\u{e9}", true), ("(?i)\u{c9}", "\u{e9}", true),
            ("(?i:ab)c", "ABc", true), ("(?i:ab)c", "ABC", false), ("a.c", "a\nc", false), ("(?s)a.c", "a\nc", true),
            ("\\Qa.b\\E", "axb", false), ("\\Qa.b\\E", "a.b", true), ("(?x) a b # comment\n c", "abc", true),
            ("\\p{Lu}\\p{Ll}", "xAb", true), ("[]a]", "]", true), ("[a-]", "-", true), ("(?<name>ab)+?$", "abab", true),
            ("a|", "zzz", true), ("^$", "", true),
        ]
    )
    func syntax(expression: String, text: String, found: Bool) throws {
        #expect(try BoundedRegularExpression(expression).search(text) == (found ? .found : .notFound))
    }

    @Test(
        "what is not supported or not valid is refused when compiled, with where",
        arguments: [
            "(unclosed", "a)", "*a", "a{2,1}", "(a)\\1", "(?=a)", "(?<=a)b", "a++", "[a", "\\q", "(a{1000}){1000}",
            "a{1001}", "[z-a]", "\\p{Foo}", "(?y)", String(repeating: "(", count: 100_000),
        ]
    )
    func refused(expression: String) {
        #expect(throws: RegularExpressionError.self) { try BoundedRegularExpression(expression) }
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
