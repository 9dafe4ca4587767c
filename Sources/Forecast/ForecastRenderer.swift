import WardenSupport

/// The forecast as text for an operator: one block per statement.
package struct ForecastRenderer: Sendable {
    /// Makes text from outside (SQL, other sessions' queries and names) safe for a terminal.
    package var visible: @Sendable (String) -> String

    package init(visible: @escaping @Sendable (String) -> String) {
        self.visible = visible
    }

    package func render(_ forecast: MigrationForecast) -> String {
        var chunks: [String] = []
        render(forecast) { chunks.append($0) }
        return chunks.joined(separator: "\n")
    }

    /// ``render(_:)`` handed to `emit` some lines at a time (a statement's, the summary's), each chunk whole lines
    /// without the last new line: the text of a million statements is never one string.
    package func render(_ forecast: MigrationForecast, emit: (String) -> Void) {
        var lines: [String] = []
        lines.append("forecast of \(visible(forecast.source)): \(forecast.statements.count) statement(s)")
        if forecast.samplingSeconds > 0 {
            lines.append(
                String(printf: "activity sampled from pg_stat_user_tables over %.1f s", forecast.samplingSeconds)
            )
        }
        if case .ran(let copy, let pgDump) = forecast.rehearsal {
            lines.append(
                "locks read from pg_locks of a rehearsal on a schema-only copy (\(visible(copy)), restored with"
                    + " \(visible(pgDump))); a lock marked static is the parser's reading, not certain"
            )
        }
        let summary = blockSummary(forecast)
        if !summary.isEmpty { lines += [""] + summary }
        for statement in forecast.statements {
            lines += block(statement, in: forecast)
            if lines.count >= 4096 {
                emit(lines.joined(separator: "\n"))
                lines.removeAll(keepingCapacity: true)
            }
        }
        if !forecast.warnings.isEmpty {
            lines.append("")
            lines += forecast.warnings.map { "warning: " + visible($0) }
        }
        if !lines.isEmpty { emit(lines.joined(separator: "\n")) }
    }

    private func block(_ statement: StatementForecast, in forecast: MigrationForecast) -> [String] {
        var lines = ["", "\(statement.number). \(oneLine(statement.sql, limit: 100))  (line \(statement.line))"]
        lines.append("   verdict: \(visible(statement.verdict))")
        let held: String
        switch statement.heldUntil {
        case .statement: held = "until the statement ends"
        case .transaction(let end):
            held =
                end.map { "until \(Self.ending(Self.statement($0, of: forecast)?.sql)) at statement \($0)" }
                ?? "until the transaction ends"
        }
        for lock in statement.analysis?.locks ?? [] {
            let size = lock.facts.map { ", " + ForecastPlanner.describe(bytes: $0.bytes) } ?? ""
            let source =
                lock.source == .rehearsal ? "rehearsal" : lock.dependsOnRows ? "static, if rows qualify" : "static"
            lines.append(
                "   \(lock.mode.name) on \(visible(lock.relation))\(size) \(held) [\(source)]: \(visible(lock.reason))"
            )
        }
        for held in statement.stillHeld {
            lines.append("   still held from statement \(held.since): \(held.mode.name) on \(visible(held.relation))")
        }
        if let estimate = estimateLine(statement) { lines.append(estimate) }
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

    /// Statement `number`: statements are numbered from 1 in order, so found by index.
    static func statement(_ number: Int, of forecast: MigrationForecast) -> StatementForecast? {
        let index = number - 1
        guard forecast.statements.indices.contains(index), forecast.statements[index].number == number else {
            return forecast.statements.first { $0.number == number }
        }
        return forecast.statements[index]
    }

    /// What ends the locks: `COMMIT`, `ROLLBACK`, `ROLLBACK TO SAVEPOINT`, `COMMIT AND CHAIN`, `PREPARE TRANSACTION`.
    static func ending(_ sql: String?) -> String {
        let words = (sql ?? "").uppercased().split(whereSeparator: { $0.isWhitespace || $0 == ";" }).map(String.init)
        let chain = words.suffix(2) == ["AND", "CHAIN"] && !words.contains("NO") ? " AND CHAIN" : ""
        switch words.first {
        case "ROLLBACK" where words.dropFirst().first(where: { $0 != "WORK" && $0 != "TRANSACTION" }) == "TO":
            return "ROLLBACK TO SAVEPOINT"
        case "ROLLBACK", "ABORT": return "ROLLBACK" + chain
        case "PREPARE": return "PREPARE TRANSACTION"
        default: return "COMMIT" + chain
        }
    }

    private func oneLine(_ text: String, limit: Int) -> String {
        let collapsed = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let cut = collapsed.count <= limit ? collapsed : String(collapsed.prefix(limit - 1)) + "…"
        return visible(cut)
    }
}
