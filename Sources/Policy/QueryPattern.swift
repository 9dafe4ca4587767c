import Foundation

/// A rule's `query` regular expression (ICU syntax: `(?i)^\s*delete`).
public struct QueryPattern: Sendable, CustomStringConvertible {
    /// The expression as written.
    public let source: String
    private let regex: NSRegularExpression

    /// Compiles `source`; `nil` when it is not a valid regular expression.
    public init?(_ source: String) {
        guard let regex = try? NSRegularExpression(pattern: source) else { return nil }
        self.source = source
        self.regex = regex
    }

    /// Whether the expression occurs in `text`.
    public func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    public var description: String { source }
}
