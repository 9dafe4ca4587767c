import Foundation

/// An ICU regular expression whose every search has a time budget.
///
/// An expression such as `^(a+)+$` backtracks exponentially on `aaaa…b`, and ICU, as
/// `NSRegularExpression` drives it, sets no limit of its own. pgwarden matches operators'
/// expressions against text it does not control (queries, crontab lines, command lines), so a
/// search that runs past its budget stops and says that it gave up, instead of hanging.
public struct BoundedRegularExpression: Sendable, CustomStringConvertible {
    /// What a search found.
    public enum Search: Sendable, Equatable {
        /// The expression occurs in the text.
        case found
        /// It does not.
        case notFound
        /// The search ran past the budget and stopped without an answer.
        case gaveUp
    }

    /// The expression as written.
    public let source: String
    /// How long one search may run.
    public let budget: Duration
    private let regex: NSRegularExpression

    /// Compiles `source`.
    ///
    /// - Throws: Foundation's error when `source` is not a valid ICU regular expression.
    public init(_ source: String, budget: Duration = .milliseconds(100)) throws {
        self.regex = try NSRegularExpression(pattern: source)
        self.source = source
        self.budget = budget
    }

    /// Searches `text` for the expression, anywhere in it.
    public func search(_ text: String) -> Search {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: budget)
        var outcome = Search.notFound
        // With .reportProgress ICU calls back now and then during a long search, so that it can be stopped.
        regex.enumerateMatches(in: text, options: [.reportProgress], range: NSRange(text.startIndex..., in: text)) {
            result,
            _,
            stop in
            if result != nil {
                outcome = .found
                stop.pointee = true
            } else if clock.now >= deadline {
                outcome = .gaveUp
                stop.pointee = true
            }
        }
        return outcome
    }

    public var description: String { source }
}
