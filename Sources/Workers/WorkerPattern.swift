import WardenSupport

/// A `--match` regular expression (the syntax `BoundedRegularExpression` documents), compiled,
/// with the text the operator wrote.
package struct WorkerPattern: Sendable, CustomStringConvertible {
    private let regex: BoundedRegularExpression

    /// The expression as written.
    package var source: String { regex.source }

    /// Compiles `source`.
    ///
    /// - Throws: ``WorkersError`` with code `invalidPattern` when it is not a valid regular expression.
    package init(_ source: String) throws(WorkersError) {
        guard !source.isEmpty else {
            throw WorkersError(.invalidPattern, "an empty --match would match every command")
        }
        do {
            regex = try BoundedRegularExpression(source)
        } catch {
            throw WorkersError(
                .invalidPattern,
                "--match \(quoted(source)) is not a valid regular expression",
                hint: error.description
            )
        }
    }

    /// How much of a command line is searched: its first 64 KiB. A command line may be megabytes long
    /// (any process of the user's), and searching all of it could run past the search's budget.
    package static let searchedLength = 64 * 1024

    /// Whether the pattern occurs anywhere in the first ``searchedLength`` characters of `command`,
    /// as `pgrep -f` matches.
    ///
    /// - Throws: ``WorkersError`` `invalidPattern` when the search gave up (ran past its budget):
    ///   pgwarden does not pause or stop anything on a guess.
    package func matches(_ command: some StringProtocol) throws(WorkersError) -> Bool {
        switch regex.search(String(command.prefix(Self.searchedLength))) {
        case .found: return true
        case .notFound: return false
        case .gaveUp:
            throw WorkersError(
                .invalidPattern,
                "--match \(quoted(source)) gave up after \(regex.budget) on \(quoted(command.prefix(60)))\(command.count > 60 ? "…" : "")",
                hint: "the line is long, or the machine busy; a simpler expression searches faster"
            )
        }
    }

    package var description: String { source }
}

/// `'text'`, for messages.
func quoted(_ text: some StringProtocol) -> String {
    "'" + text + "'"
}
