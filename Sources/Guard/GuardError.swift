import WardenSupport

/// The guard cannot start or go on.
public struct GuardError: Error, Sendable, DiagnosableError {
    public let summary: String
    public let hint: String?

    public init(_ summary: String, hint: String? = nil) {
        self.summary = summary
        self.hint = hint
    }
}
