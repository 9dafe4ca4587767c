import FoundationEssentials
import WardenSupport

extension MigrationForecast {
    /// The forecast judged again against `live` (who holds what now, the activity sampled): conflicts, verdicts and
    /// request arithmetic, without analysing the statements again.
    package func judged(live: LiveFacts, requestTimeoutSeconds: Double?) -> MigrationForecast {
        var forecast = self
        forecast.judge(live: live, requestTimeoutSeconds: requestTimeoutSeconds)
        return forecast
    }

    /// ``judged(live:requestTimeoutSeconds:)`` in place: a copy of a million statements' forecasts would double the
    /// memory they take.
    package mutating func judge(live: LiveFacts, requestTimeoutSeconds: Double?) {
        for index in statements.indices {
            statements[index].conflicts = []
            statements[index].requestImpact = nil
            ForecastPlanner.judge(&statements[index], live: live, requestTimeoutSeconds: requestTimeoutSeconds)
        }
        samplingSeconds = live.samplingSeconds
        activity = live.activity
        self.requestTimeoutSeconds = requestTimeoutSeconds
        takenAt = Date()
    }
}

extension ForecastPlanner {
    /// Fills in a statement's conflicts, verdict and request-timeout arithmetic.
    static func judge(_ forecast: inout StatementForecast, live: LiveFacts, requestTimeoutSeconds: Double?) {
        if let failure = forecast.parseFailure {
            forecast.verdict = "not forecast: \(failure.message)"
            return
        }
        guard let analysis = forecast.analysis else { return }
        if let reason = analysis.notForecast {
            forecast.verdict = "not forecast: \(reason)"
            return
        }
        forecast.conflicts = analysis.locks.flatMap { lock in
            live.locks.filter { $0.relation == lock.relation && $0.mode.conflicts(with: lock.mode) }
        }
        guard let strongest = analysis.strongestMode else {
            forecast.verdict = analysis.transactionControl == nil ? "no relation locks" : "transaction control"
            return
        }
        var parts: [String] = []
        let pids = Array(Set(forecast.conflicts.map(\.pid))).sorted()
        if !pids.isEmpty { parts.append("will wait on pid " + pids.map(String.init).joined(separator: ", ") + " now") }
        parts.append(blocking(strongest, kind: analysis.kind))
        if let rewrite = analysis.rewrites.first {
            parts.append("rewrites \(size(rewrite.facts)) under \(mode(of: rewrite.relation, in: analysis).name)")
        } else if let scan = analysis.scans.first {
            parts.append("scans \(size(scan.facts)) under \(mode(of: scan.relation, in: analysis).name)")
        } else if strongest > .rowExclusive {
            parts.append("metadata only")
        }
        forecast.verdict = parts.joined(separator: "; ")
        forecast.requestImpact = requestImpact(forecast, analysis, live: live, timeout: requestTimeoutSeconds)
    }

    private static func blocking(_ mode: LockMode, kind: String) -> String {
        switch mode {
        case .accessExclusive: "blocks reads and writes"
        case .exclusive, .shareRowExclusive, .share: "blocks writes"
        case .shareUpdateExclusive: "blocks neither reads nor writes"
        case .rowExclusive: "writes rows"
        case .rowShare: kind == "SelectStmt" ? "locks rows" : "writes rows"
        case .accessShare: "reads only"
        }
    }

    private static func mode(of relation: String, in analysis: StatementAnalysis) -> LockMode {
        analysis.locks.first { $0.relation == relation }?.mode ?? analysis.strongestMode ?? .accessShare
    }

    /// `12 MB`, `512 kB`, `3.4 GB`, or `an unknown size` for a relation the catalog does not know.
    static func size(_ facts: RelationFacts?) -> String {
        guard let facts else { return "a relation of unknown size" }
        let rows = facts.rows < 0 ? "never analysed" : "~\(facts.rows) rows"
        return describe(bytes: facts.bytes) + " (\(rows))"
    }

    /// Bytes in the units `pg_size_pretty` uses.
    package static func describe(bytes: Int64) -> String {
        let units = ["bytes", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0
            ? "\(bytes) bytes"
            : (value < 10 ? String(printf: "%.1f", value) : String(Int(value.rounded()))) + " " + units[unit]
    }

    /// What requests meet: the rate of statements on each relation the statement blocks, queued behind it while it
    /// waits, and when the request timeout kills them.
    private static func requestImpact(
        _ forecast: StatementForecast,
        _ analysis: StatementAnalysis,
        live: LiveFacts,
        timeout: Double?
    ) -> String? {
        let blocking = analysis.locks.filter { $0.mode >= .share }
        guard !blocking.isEmpty else { return nil }
        var sentences: [String] = []
        for lock in blocking {
            guard let activity = live.activity[lock.relation],
                activity.scansPerSecond > 0 || activity.rowsWrittenPerSecond > 0
            else { continue }
            let blocked =
                lock.mode == .accessExclusive
                ? activity.scansPerSecond + activity.rowsWrittenPerSecond
                : activity.rowsWrittenPerSecond
            let what = lock.mode == .accessExclusive ? "reads and writes" : "writes"
            var sentence =
                String(
                    printf: "~%.1f scans/s and ~%.1f rows written/s on ",
                    activity.scansPerSecond,
                    activity.rowsWrittenPerSecond
                ) + lock.relation
            if blocked > 0 { sentence += ": its \(what) queue behind the \(lock.mode.name)" }
            if let timeout, blocked > 0 {
                sentence += String(
                    printf: "; after the request timeout (%.0f s) ~%.0f of them have queued and the first are killed",
                    timeout,
                    blocked * timeout
                )
            }
            sentences.append(sentence)
        }
        let holders = forecast.conflicts.filter { $0.granted }
        if let timeout, let oldest = holders.compactMap(\.transactionSeconds).max() {
            let idle = holders.contains { $0.state?.hasPrefix("idle in transaction") == true }
            sentences.append(
                String(printf: "it waits at once behind a transaction open for %.0f s", oldest)
                    + (idle ? " that is idle (its wait has no end of its own)" : "")
                    + String(printf: ": the request timeout %.0f s is reached %.0f s after it starts", timeout, timeout)
            )
        }
        return sentences.isEmpty ? nil : sentences.joined(separator: "; ")
    }
}
