import WardenSupport

/// Why pausing or resuming workers could not be done. Nothing was changed when it is thrown.
public struct WorkersError: Error, Sendable, Equatable, DiagnosableError {
    /// What kind of failure.
    public let code: Code
    /// One line for the operator.
    public let summary: String
    /// What to do about it.
    public let hint: String?

    /// Creates an error.
    public init(_ code: Code, _ summary: String, hint: String? = nil) {
        self.code = code
        self.summary = summary
        self.hint = hint
    }

    /// An extensible set of failure kinds.
    public struct Code: Hashable, Sendable {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A `--match` is not a valid regular expression.
        public static let invalidPattern = Code("invalidPattern")
        /// A `--match` matches no job line of the crontab.
        public static let patternMatchesNothing = Code("patternMatchesNothing")
        /// The user does not exist.
        public static let unknownUser = Code("unknownUser")
        /// `crontab` failed or rejected the new crontab.
        public static let crontabFailed = Code("crontabFailed")
        /// The state directory or the journal could not be used.
        public static let stateDirectory = Code("stateDirectory")
        /// A pause is already recorded; it must be resumed first.
        public static let alreadyPaused = Code("alreadyPaused")
        /// Another pgwarden holds the state directory.
        public static let busy = Code("busy")
        /// The crontab kept changing under pgwarden's feet.
        public static let crontabChanging = Code("crontabChanging")
    }
}
