import FoundationEssentials
import SQLParser

/// Until when a statement's locks are held.
package enum HeldUntil: Sendable, Equatable {
    /// The end of the statement: it runs in a transaction of its own.
    case statement
    /// The end of the transaction it runs in: the number of the COMMIT, ROLLBACK or PREPARE that ends it, or
    /// `nil` when the script does not end it.
    case transaction(endsAt: Int?)
}

/// A lock taken by an earlier statement of the same transaction, still held while a later one runs.
package struct HeldLock: Sendable, Equatable {
    package var relation: String
    package var mode: LockMode
    /// The statement that took it.
    package var since: Int

    package init(relation: String, mode: LockMode, since: Int) {
        self.relation = relation
        self.mode = mode
        self.since = since
    }
}

/// The forecast of one statement.
package struct StatementForecast: Sendable {
    /// Counted from 1, in the order of the input.
    package var number: Int
    package var sql: String
    /// The line of the input it starts on.
    package var line: Int
    /// The statement that began its explicit transaction, or `nil` when it runs in a transaction of its own.
    package var transactionBegin: Int?
    package var heldUntil: HeldUntil
    /// Its locks, rewrites, scans and advice; `nil` when it did not parse.
    package var analysis: StatementAnalysis?
    /// The parser's error, when it did not parse.
    package var parseFailure: ParseFailure?
    /// Locks taken earlier in its transaction that are still held while it runs (ShareLock and stronger).
    package var stillHeld: [HeldLock] = []
    /// Other sessions holding or waiting for a lock that conflicts with one it needs.
    package var conflicts: [LiveLock] = []
    /// The verdict, such as `blocks reads and writes; metadata only`.
    package var verdict: String = ""
    /// What the request timeout means for it, when one was given.
    package var requestImpact: String?
    /// How long its work under the lock is expected to take; `nil` when it does none, or without a calibration.
    package var estimatedSeconds: SecondsEstimate?
    /// What takes the time, such as `rewrite 162 MB` and `3 indexes rebuilt`.
    package var estimateParts: [EstimatePart] = []
}

/// The forecast of a whole migration.
package struct MigrationForecast: Sendable {
    package var takenAt: Date
    /// Where the SQL came from: a file, stdin, or Alembic's offline mode.
    package var source: String
    package var statements: [StatementForecast]
    /// Transaction-wide findings and anything not forecast.
    package var warnings: [String]
    /// How long relation activity was sampled over; 0 when not sampled.
    package var samplingSeconds: Double
    /// The request timeout (uWSGI's harakiri) the arithmetic used, in seconds.
    package var requestTimeoutSeconds: Double?
    /// Whether the statements were rehearsed on a copy, or why not; `nil` when no rehearsal was asked for.
    package var rehearsal: Rehearsal.Status?
    /// What the migration runs that its SQL leaves out, such as `revision a3 and any after it (…)`.
    package var uncovered: [String] = []
    /// This server's measured throughput the seconds come from; `nil`: no seconds.
    package var calibration: Calibration?
    /// Where the calibration came from (measured now, kept from earlier), or why there is none.
    package var calibrationNote: String?
    /// Per transaction and relation, the span during which the application's reads or writes are blocked.
    package var blocks: [LockBlock] = []
    /// The sampled activity per relation, for the requests a block stops.
    package var activity: [String: RelationActivity] = [:]

    /// Everything not forecast, one phrase each: a statement the parser rejected or that runs code the forecast
    /// cannot see (and the rehearsal did not run), and ``uncovered``.
    package var notForecast: [String] {
        statements.compactMap { statement in
            if let failure = statement.parseFailure { return "statement \(statement.number) (\(failure.message))" }
            return statement.analysis?.notForecast.map { "statement \(statement.number) (\($0))" }
        } + uncovered
    }
}

/// Builds a ``MigrationForecast`` from parsed statements, catalog facts and live facts: pure.
package enum ForecastPlanner {
    /// The relation keys (``RelationName/key``) a script names, for the catalog query.
    package static func mentionedRelations(_ statements: [ParsedStatement]) -> [String] {
        var keys: [String] = []
        var seen: Set<String> = []
        for statement in statements {
            guard case .success(let tree) = statement.result else { continue }
            var names = tree.namedRelations
            if let drop = tree["DropStmt"] {
                names += (drop["objects"]?.elements ?? []).compactMap { object in
                    let parts = object["List"]?["items"]?.nameParts ?? object.nameParts
                    let type = drop["removeType"]?.text ?? ""
                    let relationParts =
                        ["OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY"].contains(type)
                        ? Array(parts.dropLast()) : parts
                    return RelationName(parts: relationParts)
                }
            }
            if let comment = tree["CommentStmt"] {
                let parts = comment["object"]?["List"]?["items"]?.nameParts ?? comment["object"]?.nameParts ?? []
                names += [RelationName(parts: parts), RelationName(parts: Array(parts.dropLast()))].compactMap { $0 }
            }
            for name in names where seen.insert(name.key).inserted { keys.append(name.key) }
        }
        return keys
    }

    /// The forecast of `statements`.
    ///
    /// - Parameter singleTransaction: the script runs as one transaction (`psql --single-transaction`, Flyway):
    ///   as if it began with BEGIN (statement number 0) and ended with COMMIT.
    package static func plan(
        _ statements: [ParsedStatement],
        source: String,
        facts: CatalogFacts,
        live: LiveFacts = LiveFacts(),
        requestTimeoutSeconds: Double? = nil,
        singleTransaction: Bool = false,
        rehearsal: Rehearsal? = nil,
        takenAt: Date
    ) -> MigrationForecast {
        var draft = ForecastDraft(facts: facts, rehearsal: rehearsal, singleTransaction: singleTransaction)
        draft.add(statements, facts: facts)
        return draft.forecast(
            source: source,
            live: live,
            requestTimeoutSeconds: requestTimeoutSeconds,
            takenAt: takenAt
        )
    }

    /// The savepoints of the open transaction, innermost last.
    struct SavepointStack {
        private var entries: [(name: String, held: [HeldLock], members: Int)] = []

        /// Applies SAVEPOINT, RELEASE or ROLLBACK TO; returns the statements whose locks ROLLBACK TO releases (those
        /// since the savepoint), which leave `members`, and restores `held` to what it was at the savepoint.
        mutating func apply(_ control: TransactionControl?, held: inout [HeldLock], members: inout [Int]) -> [Int] {
            switch control {
            case .savepoint(let name):
                entries.append((name, held, members.count))
            case .release(let name):
                if let index = entries.lastIndex(where: { $0.name == name }) { entries.removeSubrange(index...) }
            case .rollbackTo(let name):
                guard let index = entries.lastIndex(where: { $0.name == name }) else { return [] }
                let entry = entries[index]
                entries.removeSubrange((index + 1)...)
                held = entry.held
                let released = Array(members[min(entry.members, members.count)...])
                members.removeSubrange(min(entry.members, members.count)...)
                return released
            default: break
            }
            return []
        }
    }

    static func parseWarning(_ number: Int, _ failure: ParseFailure, serverVersion: Int) -> String {
        var text =
            "statement \(number) is not forecast: PostgreSQL \(SQLParser.grammarMajorVersion)'s parser"
            + " rejects it at line \(failure.line), column \(failure.column): \(failure.message)"
        if serverVersion / 10000 > SQLParser.grammarMajorVersion {
            text +=
                " (the server runs PostgreSQL \(serverVersion / 10000): this may be syntax newer than the parser's grammar)"
        }
        return text
    }

    /// For each strong lock of a transaction, the later statements that rewrite or scan while it is held.
    /// Adds a statement's locks to those its transaction holds, strongest per relation.
    static func accumulate(_ locks: [RelationLock], of number: Int, into held: inout [HeldLock]) {
        for lock in locks {
            if let index = held.firstIndex(where: { $0.relation == lock.relation }) {
                if held[index].mode < lock.mode {
                    held[index] = HeldLock(relation: lock.relation, mode: lock.mode, since: number)
                }
            } else {
                held.append(HeldLock(relation: lock.relation, mode: lock.mode, since: number))
            }
        }
    }

    static func heldWarnings(
        _ begin: Int,
        _ end: Int?,
        _ forecasts: some Collection<StatementForecast>,
        _ members: [Int]
    ) -> [String] {
        var warnings: [String] = []
        let members = Set(members)
        for forecast in forecasts where members.contains(forecast.number) {
            guard let analysis = forecast.analysis, !(analysis.rewrites.isEmpty && analysis.scans.isEmpty) else {
                continue
            }
            // A lock the statement takes itself at least as strongly is its own, not one kept from before.
            let own = analysis.locks
            for held in forecast.stillHeld
            where !own.contains(where: { $0.relation == held.relation && $0.mode >= held.mode }) {
                let work =
                    (analysis.rewrites.map { "rewrites \($0.relation)" } + analysis.scans.map { "scans \($0.relation)" })
                    .joined(separator: " and ")
                warnings.append(
                    "statement \(forecast.number) keeps the \(held.mode.name) on \(held.relation) (taken by statement"
                        + " \(held.since)) held while it \(work); it is released "
                        + (end.map { "at COMMIT (statement \($0))" } ?? "when the script's transaction commits")
                )
            }
        }
        return warnings
    }
}
