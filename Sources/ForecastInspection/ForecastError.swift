import WardenSupport

/// A forecast that cannot be made: bad input, Alembic that cannot run.
public struct ForecastError: DiagnosableError, Sendable {
    public let summary: String
    public let hint: String?

    public init(_ summary: String, hint: String? = nil) {
        self.summary = summary
        self.hint = hint
    }
}
