import Foundation

/// A `--match` regular expression (ICU syntax, as `NSRegularExpression` reads it), compiled,
/// with the text the operator wrote.
public struct WorkerPattern: Sendable, CustomStringConvertible {
    /// The expression as written.
    public let source: String
    private let regex: NSRegularExpression

    /// Compiles `source`.
    ///
    /// - Throws: ``WorkersError`` with code `invalidPattern` when it is not a valid regular expression.
    public init(_ source: String) throws(WorkersError) {
        guard !source.isEmpty else {
            throw WorkersError(.invalidPattern, "an empty --match would match every command")
        }
        do {
            regex = try NSRegularExpression(pattern: source)
        } catch {
            throw WorkersError(.invalidPattern, "--match \(quoted(source)) is not a valid regular expression")
        }
        self.source = source
    }

    /// Whether the pattern occurs anywhere in `command`, as `pgrep -f` matches.
    public func matches(_ command: some StringProtocol) -> Bool {
        let text = String(command)
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    public var description: String { source }
}

/// `'text'`, for messages.
func quoted(_ text: some StringProtocol) -> String {
    "'" + text + "'"
}
