import WardenSupport

/// A rule's `query` regular expression (`(?i)^\s*delete`; the syntax `BoundedRegularExpression` documents).
///
/// A search runs at most 50 ms. One that gives up (an expression built to backtrack, on a
/// long query) counts as no match: nothing is signalled on a guess.
package struct QueryPattern: Sendable, CustomStringConvertible {
    private let regex: BoundedRegularExpression

    /// The expression as written.
    package var source: String { regex.source }

    /// Compiles `source`; `nil` when it is not a valid regular expression.
    package init?(_ source: String) {
        guard let regex = try? BoundedRegularExpression(source, budget: .milliseconds(50)) else { return nil }
        self.regex = regex
    }

    /// Whether the expression occurs in `text`. A search that gave up is no match.
    package func matches(_ text: String) -> Bool {
        regex.search(text) == .found
    }

    package var description: String { source }
}
