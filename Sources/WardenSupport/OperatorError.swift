/// A failure told to the operator: one line of what went wrong, optionally one line of what to do, and a
/// ``Code`` that says which kind it is, so that a caller tells failures apart without reading their text.
public struct OperatorError: Error, Sendable, Hashable, DiagnosableError {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let rawValue: String

        /// A code named `rawValue`.
        public init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        public var description: String { rawValue }

        /// `upgrade` itself failed (as opposed to the migration).
        public static let supervisor = Code("supervisor")
        /// The guard cannot start or go on.
        public static let guardDaemon = Code("guard")
        /// The audit log cannot be opened or written.
        public static let auditLog = Code("auditLog")
        /// A reload could not be started or did not complete.
        public static let reload = Code("reload")
        /// A forecast cannot be made: bad input, a migration tool that cannot run.
        public static let forecast = Code("forecast")
        /// The migration command cannot run as given (Django's `migrate --plan` refuses it): the migration would fail
        /// the same way, so `upgrade` stops before anything changes.
        public static let migrationCommand = Code("migrationCommand")
    }

    /// Which kind of failure.
    public let code: Code
    /// What went wrong, on one line.
    public let summary: String
    /// What to do about it, on one line.
    public let hint: String?

    /// Creates an error of kind `code`.
    public init(_ code: Code, _ summary: String, hint: String? = nil) {
        self.code = code
        self.summary = summary
        self.hint = hint
    }
}
