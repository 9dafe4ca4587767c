import WardenSupport

/// The forecast as text for an operator: one block per statement.
public struct ForecastRenderer: Sendable {
    /// Makes text from outside (SQL, other sessions' queries and names) safe for a terminal.
    public var visible: @Sendable (String) -> String

    public init(visible: @escaping @Sendable (String) -> String) {
        self.visible = visible
    }

    public func render(_ forecast: MigrationForecast) -> String {
        var lines: [String] = []
        lines.append("forecast of \(visible(forecast.source)): \(forecast.statements.count) statement(s)")
        if forecast.samplingSeconds > 0 {
            lines.append(
                String(printf: "activity sampled from pg_stat_user_tables over %.1f s", forecast.samplingSeconds)
            )
        }
        for statement in forecast.statements { lines += block(statement) }
        if !forecast.warnings.isEmpty {
            lines.append("")
            lines += forecast.warnings.map { "warning: " + visible($0) }
        }
        return lines.joined(separator: "\n")
    }

    private func block(_ statement: StatementForecast) -> [String] {
        var lines = ["", "\(statement.number). \(oneLine(statement.sql, limit: 100))  (line \(statement.line))"]
        lines.append("   verdict: \(visible(statement.verdict))")
        let held: String
        switch statement.heldUntil {
        case .statement: held = "until the statement ends"
        case .transaction(let end): held = end.map { "until COMMIT at statement \($0)" } ?? "until the transaction ends"
        }
        for lock in statement.analysis?.locks ?? [] {
            let size = lock.facts.map { ", " + ForecastPlanner.describe(bytes: $0.bytes) } ?? ""
            lines.append("   \(lock.mode.name) on \(visible(lock.relation))\(size) \(held): \(visible(lock.reason))")
        }
        for held in statement.stillHeld {
            lines.append("   still held from statement \(held.since): \(held.mode.name) on \(visible(held.relation))")
        }
        for work in statement.analysis?.rewrites ?? [] {
            lines.append("   rewrites \(visible(work.relation)): \(visible(work.reason))")
        }
        for work in statement.analysis?.scans ?? [] {
            lines.append("   scans \(visible(work.relation)): \(visible(work.reason))")
        }
        for conflict in statement.conflicts {
            let age = conflict.transactionSeconds.map { String(printf: ", transaction open %.0f s", $0) } ?? ""
            let verb = conflict.granted ? "holds" : "waits for"
            lines.append(
                "   now: pid \(conflict.pid) (\(visible(conflict.state ?? "?"))\(age), \(visible(conflict.applicationName ?? "")))"
                    + " \(verb) \(conflict.mode.name) on \(visible(conflict.relation)): \(oneLine(conflict.query ?? "", limit: 80))"
            )
        }
        if let impact = statement.requestImpact { lines.append("   requests: \(visible(impact))") }
        for note in statement.analysis?.notes ?? [] { lines.append("   note: \(visible(note))") }
        for advice in statement.analysis?.advice ?? [] { lines.append("   safer: \(visible(advice))") }
        return lines
    }

    private func oneLine(_ text: String, limit: Int) -> String {
        let collapsed = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let cut = collapsed.count <= limit ? collapsed : String(collapsed.prefix(limit - 1)) + "…"
        return visible(cut)
    }
}
