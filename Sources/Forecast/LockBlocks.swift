import FoundationEssentials
import WardenSupport

/// The span during which one transaction of the migration blocks the application's reads (or writes) of one relation:
/// from the statement that takes the conflicting lock to the statement that releases it.
package struct LockBlock: Sendable, Equatable {
    /// The relation, `schema.name`.
    package var relation: String
    /// AccessExclusiveLock: reads and writes; a ShareLock or stronger: writes.
    package var blocksReads: Bool
    /// The statement that takes the lock.
    package var fromStatement: Int
    /// The statement that releases it (COMMIT, ROLLBACK, or the statement itself outside a transaction block);
    /// `nil` when the script does not end its transaction.
    package var untilStatement: Int?
    /// The statement runs in a transaction of its own: the block lasts as long as it.
    package var ownTransaction: Bool
    /// The seconds of everything that runs inside the span; `nil` without a calibration.
    package var estimate: SecondsEstimate?
    /// What takes the time, in order.
    package var parts: [EstimatePart] = []
    /// The statements inside the span that do work of unknown size.
    package var unknown: [Int] = []
    /// The sampled rate of requests the block stops: scans (and rows written) per second; `nil` when not sampled.
    package var requestsPerSecond: Double?

    /// `reads and writes`, or `writes`.
    package var blocks: String { blocksReads ? "reads and writes" : "writes" }

    /// Whether the block is expected to outlast `timeout` seconds: its expected estimate is longer.
    package func outlasts(_ timeout: Double) -> Bool { (estimate?.expected ?? 0) > timeout }

    /// The requests that arrive early enough in the block to wait longer than `timeout`: the rate times the
    /// expected seconds beyond the timeout.
    package func requestsKilled(by timeout: Double) -> Double? {
        guard let rate = requestsPerSecond, let estimate else { return nil }
        return rate * max(estimate.expected - timeout, 0)
    }
}

extension ForecastPlanner {
    /// Each statement's estimate in seconds, from its work and `calibration` (none without one): pure.
    package static func estimate(_ statements: inout [StatementForecast], calibration: Calibration?) {
        for index in statements.indices {
            statements[index].estimatedSeconds = nil
            statements[index].estimateParts = []
            guard let calibration, let analysis = statements[index].analysis else { continue }
            let work = analysis.rewrites + analysis.scans
            guard !work.isEmpty else { continue }
            var total = SecondsEstimate.zero
            var parts: [EstimatePart] = []
            var known = true
            for item in work {
                guard let pieces = EstimateModel.parts(of: item, calibration: calibration) else {
                    known = false
                    continue
                }
                parts += pieces
                for piece in pieces { total = total + piece.seconds }
            }
            statements[index].estimateParts = parts
            statements[index].estimatedSeconds = known ? total : nil
        }
    }

    /// The blocks of the script: per transaction and relation that exists (a relation the migration creates is
    /// no application's yet), from the first statement that takes a lock blocking writes (ShareLock or stronger)
    /// to the end of its transaction; reads too when any lock of the span is an AccessExclusiveLock.
    package static func blocks(
        _ statements: [StatementForecast],
        calibrated: Bool,
        activity: [String: RelationActivity] = [:]
    ) -> [LockBlock] {
        var blocks: [LockBlock] = []
        var open: [String: Int] = [:]  // relation in the current transaction → index in blocks
        var currentTransaction: Int?
        for statement in statements {
            let transaction = statement.transactionBegin
            if transaction == nil || transaction != currentTransaction { open = [:] }
            currentTransaction = transaction
            for lock in statement.analysis?.locks ?? [] where lock.facts != nil && lock.mode >= .share {
                if let index = open[lock.relation] {
                    blocks[index].blocksReads = blocks[index].blocksReads || lock.mode == .accessExclusive
                    continue
                }
                var until: Int? = statement.number
                if case .transaction(let end) = statement.heldUntil { until = end }
                blocks.append(
                    LockBlock(
                        relation: lock.relation,
                        blocksReads: lock.mode == .accessExclusive,
                        fromStatement: statement.number,
                        untilStatement: until,
                        ownTransaction: statement.heldUntil == .statement
                    )
                )
                if transaction != nil { open[lock.relation] = blocks.count - 1 }
            }
        }
        for index in blocks.indices {
            fill(&blocks[index], statements, calibrated: calibrated, activity: activity)
        }
        return blocks
    }

    /// The estimate, parts and request rate of one block.
    private static func fill(
        _ block: inout LockBlock,
        _ statements: [StatementForecast],
        calibrated: Bool,
        activity: [String: RelationActivity]
    ) {
        // Statements are numbered from 1 in order: the span is found by index, not by a walk over the script.
        let from =
            statements.indices.contains(block.fromStatement - 1)
                && statements[block.fromStatement - 1].number == block.fromStatement
            ? block.fromStatement - 1
            : statements.firstIndex { $0.number == block.fromStatement } ?? statements.endIndex
        let transaction = from < statements.endIndex ? statements[from].transactionBegin : nil
        var inside: [StatementForecast] = []
        for statement in statements[from...] {
            if statement.number > (block.untilStatement ?? Int.max) || (block.ownTransaction && !inside.isEmpty) {
                break
            }
            if block.ownTransaction || statement.transactionBegin == transaction { inside.append(statement) }
        }
        var total = SecondsEstimate.zero
        for statement in inside {
            block.parts += statement.estimateParts
            if let estimate = statement.estimatedSeconds {
                total = total + estimate
            } else if let analysis = statement.analysis, !(analysis.rewrites.isEmpty && analysis.scans.isEmpty) {
                block.unknown.append(statement.number)
                for part in statement.estimateParts { total = total + part.seconds }
            }
        }
        block.estimate = calibrated ? total : nil
        if let rate = activity[block.relation] {
            block.requestsPerSecond =
                block.blocksReads ? rate.scansPerSecond + rate.rowsWrittenPerSecond : rate.rowsWrittenPerSecond
        }
    }
}

extension MigrationForecast {
    /// The forecast with seconds: each statement's estimate from `calibration`, and the blocks with the sampled
    /// request rates; `note` says where the calibration came from, or why there is none.
    package func estimated(calibration: Calibration?, note: String?) -> MigrationForecast {
        var forecast = self
        forecast.estimate(calibration: calibration, note: note)
        return forecast
    }

    /// ``estimated(calibration:note:)`` in place, without a copy of the statements' forecasts.
    package mutating func estimate(calibration: Calibration?, note: String?) {
        let calibrated = calibration != nil || !doesWork
        self.calibration = calibration
        calibrationNote = note
        ForecastPlanner.estimate(&statements, calibration: calibration)
        blocks = ForecastPlanner.blocks(statements, calibrated: calibrated, activity: activity)
    }

    /// Whether a statement rewrites, scans or builds: without one, no calibration is needed (every block is
    /// metadata only).
    package var doesWork: Bool {
        statements.contains { statement in
            guard let analysis = statement.analysis else { return false }
            return !(analysis.rewrites.isEmpty && analysis.scans.isEmpty)
        }
    }

    /// The blocks expected to outlast the request timeout, longest first.
    package var blocksOutlastingTimeout: [LockBlock] {
        guard let timeout = requestTimeoutSeconds else { return [] }
        return blocks.filter { $0.outlasts(timeout) }.sorted {
            ($0.estimate?.expected ?? 0) > ($1.estimate?.expected ?? 0)
        }
    }
}
