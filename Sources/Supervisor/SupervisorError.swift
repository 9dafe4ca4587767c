import WardenSupport

/// The supervisor itself failed (as opposed to the migration).
public struct SupervisorError: Error, Sendable, DiagnosableError {
    public let summary: String
    public let hint: String?

    public init(_ summary: String, hint: String? = nil) {
        self.summary = summary
        self.hint = hint
    }
}
