/// A failure told to the operator: one line of what went wrong, optionally one line of what to do, and a
/// ``Code`` that says which kind it is, so that a caller tells failures apart without reading their text.
package struct OperatorError: Error, Sendable, Hashable, DiagnosableError {
    /// The kind of failure.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        package let rawValue: String

        /// A code named `rawValue`.
        package init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        package var description: String { rawValue }

        /// `upgrade` itself failed (as opposed to the migration).
        package static let supervisor = Code("supervisor")
        /// The guard cannot start or go on.
        package static let guardDaemon = Code("guard")
        /// The audit log cannot be opened or written.
        package static let auditLog = Code("auditLog")
        /// A reload could not be started or did not complete.
        package static let reload = Code("reload")
        /// A forecast cannot be made: bad input, a migration tool that cannot run.
        package static let forecast = Code("forecast")
        /// The migration command cannot run as given (Django's `migrate --plan` refuses it): the migration would fail
        /// the same way, so `upgrade` stops before anything changes.
        package static let migrationCommand = Code("migrationCommand")
    }

    /// Which kind of failure.
    package let code: Code
    /// What went wrong, on one line.
    package let summary: String
    /// What to do about it, on one line.
    package let hint: String?

    /// Creates an error of kind `code`.
    package init(_ code: Code, _ summary: String, hint: String? = nil) {
        self.code = code
        self.summary = summary
        self.hint = hint
    }
}
