import WardenSupport

extension ForecastRenderer {
    /// The summary that leads the text: where the seconds come from, then one line per block, and the verdict against
    /// the request timeout.
    func blockSummary(_ forecast: MigrationForecast) -> [String] {
        var lines: [String] = []
        if let note = forecast.calibrationNote { lines.append("seconds: " + visible(note)) }
        for block in forecast.blocks { lines.append(visible(Self.line(block, in: forecast))) }
        if let timeout = forecast.requestTimeoutSeconds {
            let outlasting = forecast.blocksOutlastingTimeout
            for block in outlasting {
                lines.append(visible(Self.timeoutVerdict(block, timeout: timeout, in: forecast)))
            }
            if outlasting.isEmpty, !forecast.blocks.isEmpty, forecast.calibration != nil {
                lines.append(
                    "verdict: no block is expected to outlast the request timeout ("
                        + DurationSyntax.format(seconds: timeout) + ")"
                )
            }
        }
        return lines
    }

    /// `public.release: reads and writes blocked from statement 2 to COMMIT (statement 10), ~8 s (rewrite 162 MB
    /// ~5 s, 3 indexes rebuilt ~2 s, foreign-key check ~1 s)`.
    static func line(_ block: LockBlock, in forecast: MigrationForecast) -> String {
        var text = "\(block.relation): \(block.blocks) blocked "
        if block.ownTransaction {
            text += "during statement \(block.fromStatement)"
        } else if let until = block.untilStatement {
            text +=
                "from statement \(block.fromStatement) to \(ending(statement(until, of: forecast)?.sql)) (statement \(until))"
        } else {
            text += "from statement \(block.fromStatement) to the end of the script's transaction"
        }
        guard let estimate = block.estimate else { return text + ", for an unknown time (no calibration)" }
        let parts = block.parts.filter { $0.seconds.expected > 0 }.map { "\($0.label) \($0.seconds.text)" }
        if parts.isEmpty, estimate.high < 0.005 {
            // Not "~0.00 s": nothing under the lock reads the table, and the time of the rest is the transaction's.
            text +=
                ", for as long as the transaction's own statements take: no rewrite, scan or index build under the lock"
        } else {
            text += ", " + estimate.text + " (up to " + SecondsEstimate.format(estimate.high) + ")"
            text += parts.isEmpty ? ": metadata only" : ": " + parts.joined(separator: ", ")
        }
        if !block.unknown.isEmpty {
            text += "; statement(s) " + block.unknown.map(String.init).joined(separator: ", ") + " of unknown size"
        }
        return text
    }

    /// `verdict: public.release's reads and writes are expected to stay blocked ~8 s (up to 16 s), longer than the
    /// request timeout (1s): ~40 requests killed at ~5.0 requests/s`.
    static func timeoutVerdict(_ block: LockBlock, timeout: Double, in forecast: MigrationForecast) -> String {
        guard let estimate = block.estimate else { return "" }
        let statements =
            block.ownTransaction
            ? "statement \(block.fromStatement)"
            : "statements \(block.fromStatement)–\(block.untilStatement.map(String.init) ?? "end")"
        var text =
            "verdict: \(block.relation)'s \(block.blocks) are expected to stay blocked \(estimate.text)"
            + " (up to \(SecondsEstimate.format(estimate.high)), \(statements)), longer than the request timeout ("
            + DurationSyntax.format(seconds: timeout) + ")"
        if let rate = block.requestsPerSecond, rate > 0, let killed = block.requestsKilled(by: timeout) {
            let measured = block.blocksReads ? "scans and rows written" : "rows written"
            text +=
                String(printf: ": ~%.0f requests killed at ~%.1f requests/s", killed, rate)
                + " (\(measured) per second on it in pg_stat_user_tables, "
                + String(printf: "sampled over %.1f s)", forecast.samplingSeconds)
        } else {
            text +=
                ": every request that reaches it in the first "
                + SecondsEstimate.format(max(estimate.expected - timeout, 0))
                + " is killed (no request on it was sampled)"
        }
        return text
    }

    /// `   takes ~5.0 s (3.0–10 s): rewrite 162 MB ~3.0 s, 3 indexes rebuilt ~2.0 s`.
    func estimateLine(_ statement: StatementForecast) -> String? {
        guard let estimate = statement.estimatedSeconds else { return nil }
        let parts = statement.estimateParts.map { "\($0.label) \($0.seconds.text)" }.joined(separator: ", ")
        return "   takes \(estimate.text) (\(estimate.rangeText)): " + visible(parts)
    }
}
