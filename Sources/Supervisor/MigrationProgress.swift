import Forecast
import WardenSupport

/// What the migration's statement has done, as PostgreSQL reports it, against the forecast's estimate: pure.
struct MigrationProgress: Sendable, Equatable {
    /// `CREATE INDEX`, `CLUSTER`, `VACUUM FULL`; `nil` when no progress view covers the statement.
    var command: String?
    /// Such as `building index: scanning table`.
    var phase: String?
    /// Blocks done and in all, of the current phase.
    var done: Double?
    var total: Double?
    /// How long the statement has run.
    var runningSeconds: Double
    /// The forecast's estimate of the statement, when its SQL is one the forecast saw.
    var estimate: SecondsEstimate?

    /// `CREATE INDEX, building index: scanning table 40%; running 2.0s of ~5.0 s forecast, ~3.0 s left`.
    var text: String? {
        var parts: [String] = []
        if let command {
            var head = command + (phase.map { ", \($0)" } ?? "")
            if let done, let total, total > 0 { head += String(printf: " %.0f%%", min(done / total, 1) * 100) }
            parts.append(head)
        }
        if let estimate {
            let running = "running \(DurationSyntax.format(seconds: runningSeconds)) of \(estimate.text) forecast"
            if runningSeconds > estimate.high {
                parts.append(running + ", past the high estimate (\(SecondsEstimate.format(estimate.high)))")
            } else {
                parts.append(
                    running + ", "
                        + SecondsEstimate(low: 0, expected: max(estimate.expected - runningSeconds, 0), high: 0).text
                        + " left"
                )
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// The key a statement's SQL is matched by: its words, single-spaced, without a final semicolon.
    static func key(_ sql: String) -> String {
        var text = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        while text.hasSuffix(";") { text.removeLast() }
        return text
    }

    /// The forecast's estimates by ``key(_:)`` of each statement's SQL.
    static func estimates(of forecast: MigrationForecast?) -> [String: SecondsEstimate] {
        var estimates: [String: SecondsEstimate] = [:]
        for statement in forecast?.statements ?? [] {
            if let estimate = statement.estimatedSeconds { estimates[key(statement.sql)] = estimate }
        }
        return estimates
    }
}
