import FoundationEssentials
import WardenSupport

/// What PostgreSQL's progress views (`pg_stat_progress_create_index`, `_cluster`, `_vacuum`, `_analyze`, `_copy`)
/// report of one backend's statement, and the time its current phase has left at its rate so far: pure.
///
/// The views give the current phase and its counter, never when the phase began, so a rate is measured only where the
/// statement's start is the phase's start: the first phase that does work (the table scan of a CREATE INDEX or
/// REINDEX, the heap scan of a CLUSTER, VACUUM FULL or VACUUM, ANALYZE's sample, a COPY). The time left is that
/// phase's: what follows it (an index build's sort and load, a rewrite's index rebuilds) is not counted, and the text
/// says so.
package struct BackendProgress: Sendable, Equatable {
    /// `CREATE INDEX`, `REINDEX`, `CLUSTER`, `VACUUM FULL`, `VACUUM`, `ANALYZE`, `COPY FROM`, …
    package var command: String
    /// Such as `building index: scanning table`; `nil` for COPY, which has no phases.
    package var phase: String?
    /// The phase's counter and its end; `nil` where the phase has none (a sort).
    package var done: Double?
    package var total: Double?
    /// What the counter counts: `blocks`, `tuples`, `bytes`, `tables`.
    package var unit: String?
    /// The relation the statement works on, when it is in this database.
    package var relation: String?
    /// How long the statement has run.
    package var runningSeconds: Double

    package init(
        command: String,
        phase: String? = nil,
        done: Double? = nil,
        total: Double? = nil,
        unit: String? = nil,
        relation: String? = nil,
        runningSeconds: Double
    ) {
        self.command = command
        self.phase = phase
        self.done = done
        self.total = total
        self.unit = unit
        self.relation = relation
        self.runningSeconds = runningSeconds
    }

    /// The share of the phase done, 0…1; `nil` without a counter and its end.
    package var fraction: Double? {
        guard let done, let total, total > 0 else { return nil }
        return min(max(done / total, 0), 1)
    }

    /// Whether the current phase began with the statement (see the type's notes): only then does the running time
    /// measure the phase's rate.
    package var phaseStartsWithStatement: Bool {
        switch (command, phase) {
        case ("CREATE INDEX", "building index: scanning table"), ("REINDEX", "building index: scanning table"):
            true
        case ("CLUSTER", "seq scanning heap"), ("VACUUM FULL", "seq scanning heap"):
            true
        case ("VACUUM", "scanning heap"), ("ANALYZE", "acquiring sample rows"):
            true
        case (let command, nil) where command.hasPrefix("COPY"):
            true
        default:
            false
        }
    }

    /// Below this share done, a rate is mostly the statement's start-up: no estimate.
    static let minimumFraction = 0.02

    /// The seconds the current phase has left at its rate so far; `nil` where that rate is not known.
    package var phaseSecondsLeft: Double? {
        guard phaseStartsWithStatement, let fraction, fraction >= Self.minimumFraction, runningSeconds > 0 else {
            return nil
        }
        return runningSeconds * (1 - fraction) / fraction
    }

    /// `CREATE INDEX on public.big, building index: scanning table 40% (4000 of 10000 blocks), running 2.0s;
    /// this phase ~3.0s left at its rate so far, later phases not counted`.
    package var text: String {
        var head = command + (relation.map { " on \($0)" } ?? "") + (phase.map { ", \($0)" } ?? "")
        if let fraction, let done, let total {
            head += String(printf: " %.0f%%", fraction * 100)
            head += " (\(Self.count(done)) of \(Self.count(total))\(unit.map { " " + $0 } ?? ""))"
        } else if let done, let unit {
            head += " (\(Self.count(done)) \(unit) so far)"
        }
        head += ", running \(DurationSyntax.format(seconds: runningSeconds))"
        guard let left = phaseSecondsLeft else { return head }
        let later = command.hasPrefix("COPY") ? "" : ", later phases not counted"
        return head + "; this phase ~\(DurationSyntax.format(seconds: left)) left at its rate so far" + later
    }

    /// `40%, ~3.0s left in this phase`: for one-line summaries.
    package var shortText: String {
        var parts = [command]
        if let fraction { parts.append(String(printf: "%.0f%%", fraction * 100)) }
        if let left = phaseSecondsLeft { parts.append("~\(DurationSyntax.format(seconds: left)) left in this phase") }
        return parts.joined(separator: " ")
    }

    /// `{"command", "phase", "relation", "done", "total", "unit", "percent", "running_seconds",
    /// "phase_seconds_left"}`, `null` where not known.
    package var json: JSONValue {
        .object([
            ("command", .string(command)),
            ("phase", .string(phase)),
            ("relation", .string(relation)),
            ("done", done.map { JSONValue.number($0) } ?? .null),
            ("total", total.map { JSONValue.number($0) } ?? .null),
            ("unit", .string(unit)),
            ("percent", fraction.map { JSONValue.number(($0 * 1000).rounded() / 10) } ?? .null),
            ("running_seconds", .seconds(runningSeconds)),
            ("phase_seconds_left", .seconds(phaseSecondsLeft)),
        ])
    }

    private static func count(_ value: Double) -> String {
        value.isFinite && abs(value) < 1e15 ? String(Int64(value)) : "?"
    }
}
