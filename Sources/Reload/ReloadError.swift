import WardenSupport

/// A reload could not be started or did not complete.
public struct ReloadError: Error, Sendable, Equatable, DiagnosableError {
    public let summary: String
    public let hint: String?

    public init(_ summary: String, hint: String? = nil) {
        self.summary = summary
        self.hint = hint
    }
}
