#if canImport(Glibc)
    import Glibc
#endif

/// A regular expression whose every search has a budget of CPU time.
///
/// The syntax is the ICU-style subset that operators write in policies and `--match`: literals and
/// escapes (`\.`, `\t`, `\x41`, `\u00e9`, `\Q…\E`), `.`, bracket expressions (`[a-z_]`, `[^0-9]`,
/// `[[:alpha:]]`), the classes `\d \w \s \h` (and `\D \W \S \H`), `\p{L}`-style general
/// categories, the anchors `^ $ \A \z \Z \b \B`, groups `( )`, `(?: )` and `(?<name> )`,
/// alternation `|`, the repetitions `* + ? {n} {n,} {n,m}` (greedy or lazy), and the inline flags
/// `(?i)`, `(?s)`, `(?m)`, `(?x)` (also `(?i: … )` and `(?-i)`). Back references, lookaround,
/// atomic groups and possessive repetitions are refused when compiled.
///
/// The search is a Pike VM of pgwarden's own (no ICU): it follows every way to match at once, so
/// it never backtracks, and an expression such as `^(a+)+$`, which backtracks exponentially in
/// ICU on `aaaa…b`, takes time in proportion to the text's length. pgwarden matches operators'
/// expressions against text it does not control (queries, crontab lines, command lines), so a
/// search still has a budget: one that runs past it (a text of many megabytes) stops and says
/// that it gave up, instead of holding up the caller.
package struct BoundedRegularExpression: Sendable, CustomStringConvertible {
    /// What a search found.
    package enum Search: Sendable, Equatable {
        /// The expression occurs in the text.
        case found
        /// It does not.
        case notFound
        /// The search ran past the budget and stopped without an answer.
        case gaveUp
    }

    /// The expression as written.
    package let source: String
    /// How much CPU time one search may take.
    package let budget: Duration
    private let program: RegexProgram

    /// Compiles `source`.
    ///
    /// - Throws: ``RegularExpressionError`` when `source` is not a valid expression of the syntax above.
    package init(_ source: String, budget: Duration = .milliseconds(100)) throws(RegularExpressionError) {
        self.program = try RegexProgram(RegexParser.parse(source))
        self.source = source
        self.budget = budget
    }

    /// Searches `text` for the expression, anywhere in it.
    package func search(_ text: String) -> Search {
        // The budget is the search's own CPU time, not the wall clock's: a machine that stalls the process (load,
        // a paused VM) must not make a crontab line fail to match.
        let deadline = Self.threadCPUTime() + budget
        switch program.search(Array(text.unicodeScalars), pastDeadline: { Self.threadCPUTime() >= deadline }) {
        case .found: return .found
        case .notFound: return .notFound
        case .gaveUp: return .gaveUp
        }
    }

    package var description: String { source }

    /// The CPU time this thread has used.
    private static func threadCPUTime() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }
}
