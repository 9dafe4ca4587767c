import FoundationEssentials
import Logging
import Processes
import WardenSupport
import Workers

/// `pgwarden recover` and `pgwarden status`: what the journal says of the current or last run.
package struct Recovery: Sendable {
    let stateDirectory: StateDirectory
    /// Whether the operator named the state directory (else the default, and pauses are also looked for
    /// through the crontabs' markers).
    private let named: Bool
    private let logger: Logger

    /// What `status` and `recover` found: the lines to show and the exit status (``Code``).
    package struct Answer: Sendable {
        package var lines: [String]
        package var status: Int32
    }

    /// The exit statuses of `status` and `recover`, beside 0 and 1 (`error:`).
    typealias Code = ExitStatus

    /// Creates recovery on a state directory (`nil`: the default).
    package init(stateDirectory: String?, logger: Logger) {
        self.stateDirectory = StateDirectory(path: stateDirectory)
        named = stateDirectory != nil
        self.logger = logger
    }

    /// A state directory the operator named must be one: a typo must not read as "no run recorded", all clear,
    /// nor be made by `recover`.
    private func requireNamedDirectory() throws {
        guard named else { return }
        guard FileManager.default.fileExists(atPath: stateDirectory.path) else {
            throw OperatorError(
                .stateDirectory,
                "no state directory at \(stateDirectory.path)",
                hint: "give the --state-dir the run was given (its journal, \(RunJournal.fileName), is kept there)"
            )
        }
        let type: FileAttributeType?
        do {
            type = try FileManager.default.attributesOfItem(atPath: stateDirectory.path)[.type] as? FileAttributeType
        } catch {
            // Not "not a directory": why it cannot be read is what the operator needs.
            throw OperatorError(.stateDirectory, "cannot read \(stateDirectory.path): \(error)")
        }
        guard type == .typeDirectory else {
            throw OperatorError(.stateDirectory, "\(stateDirectory.path) is not a directory")
        }
    }

    var option: String { " --state-dir \(ShellQuoting.quote(stateDirectory.path))" }

    /// Restores what the journal says is still paused, and reports the migration's last known state. The
    /// workers are not resumed while the run's migration still runs, unless `resumeAnyway` (or
    /// `stopMigration`, which stops it first).
    package func recover(
        stopMigration: Bool = false,
        resumeAnyway: Bool = false,
        connectionString: String? = nil
    ) async throws -> Answer {
        try requireNamedDirectory()
        try stateDirectory.prepare()
        var lines: [String] = []
        var journal = try RunJournal.load(RunJournal.fileName, from: stateDirectory)
        if journal == nil, stopMigration, let last = try RunJournal.load(RunJournal.lastFileName, from: stateDirectory)
        {
            // A migration left running by an earlier recover is still stopped when asked.
            let stop = MigrationStop(journal: last, connectionString: connectionString, logger: logger)
            if stop.migrationIsRunning, let pid = last.migrationPID {
                lines += await stop.recover(pid: pid, stop: true)
            }
        }
        if let current = journal {
            if current.supervisorIsRunning {
                throw OperatorError(
                    .supervisor,
                    "run \(current.runID) is still in progress (supervisor pid \(current.supervisorPID))",
                    hint: "recover is for a run whose supervisor died"
                )
            }
            lines.append(
                "run \(current.runID) (\(ShellQuoting.command(current.command))) stopped at phase \(current.phase.rawValue), started \(current.startedAt.formatted(.iso8601))"
            )
            let stop = MigrationStop(journal: current, connectionString: connectionString, logger: logger)
            if let pid = current.migrationPID { lines += await stop.recover(pid: pid, stop: stopMigration) }
            if let wait = current.lastLockWait { lines.append("its last known lock wait: \(wait)") }
            if stop.migrationIsRunning, !resumeAnyway {
                lines.append(
                    "the workers are left paused while the migration runs: pgwarden recover --stop-migration\(option)"
                        + " stops it and then resumes them; --resume-anyway resumes them now"
                )
                return Answer(lines: lines, status: Code.needsRecovery)
            }
        }
        lines += try await resumeWorkers()
        let primaryOnly = lines
        let (setLines, setsFailed) = await resumeSets()
        lines += setLines
        let (remoteLines, remoteFailed) = await resumeRemoteSets(&journal)
        lines += remoteLines
        if !setLines.isEmpty || !remoteLines.isEmpty {
            // The flags' own crontab pause had nothing; the sets did: "no workers were paused" would mislead.
            lines.removeAll { $0 == "no workers were paused" }
        }
        if setsFailed || remoteFailed {
            lines.append(
                "some worker sets are still paused: run pgwarden recover\(option) again once the cause is fixed"
            )
            return Answer(lines: lines, status: Code.needsRecovery)
        }
        if journal != nil {
            journal!.phase = .recovered
            journal!.finishedAt = Date()
            journal!.outcome = "recovered"
            try journal!.save(as: RunJournal.lastFileName, in: stateDirectory)
            try stateDirectory.remove(RunJournal.fileName)
        }
        if primaryOnly == ["no workers were paused"], setLines.isEmpty, remoteLines.isEmpty, !named,
            let elsewhere = await pausesElsewhere()
        {
            return Answer(lines: elsewhere, status: Code.needsRecovery)
        }
        return Answer(lines: lines, status: 0)
    }

    /// Every worker set with a directory of its own, in reverse order, each tried whatever became of the others;
    /// whether one could not be resumed (its journal is kept, for the next recover).
    private func resumeSets() async -> (lines: [String], failed: Bool) {
        var lines: [String] = []
        var failed = false
        let directories: [StateDirectory]
        do {
            directories = try WorkerSetPause.directories(under: stateDirectory)
        } catch {
            return (["error: the worker sets cannot be listed: \(Supervisor.describe(error))"], true)
        }
        for directory in directories.reversed() {
            let name = String(directory.path.split(separator: "/").last ?? "")
            do {
                guard let said = try await WorkerSetPause(directory: directory, logger: logger).resume() else {
                    continue
                }
                lines += said.map { "set \(name): \($0)" }
            } catch {
                failed = true
                lines.append("error: set \(name) was not resumed: \(Supervisor.describe(error))")
            }
        }
        return (lines, failed)
    }

    private func resumeWorkers() async throws -> [String] {
        switch try await WorkerPause(stateDirectory: stateDirectory, logger: logger).resume() {
        case .nothingPaused: return ["no workers were paused"]
        case .neverInstalled(let record, let repaired):
            return (repaired.map { ["warning: " + $0.description] } ?? [])
                + ["pause \(record.pauseID) never reached the crontab: nothing to restore"]
        case .resumed(let resumed):
            var lines = resumed.repaired.map { ["warning: " + $0.description] } ?? []
            lines += resumed.writeFailures.map { "warning: " + $0 }
            lines.append(
                "resumed \(Plural.count(resumed.lines.filter { $0.state == .paused }.count, "crontab line", "crontab lines")) of \(resumed.record.user)"
                    + (resumed.restoredExactly ? " (byte for byte as before)" : "")
            )
            for report in resumed.lines where report.state != .paused {
                lines.append(
                    "warning: a paused line was \(report.state.rawValue) by someone else meanwhile: \(Redaction.redact(report.line.line))"
                )
            }
            return lines
        }
    }

    /// The current or last run, from the journal; without one in the default state directory, the pauses
    /// that the crontabs' markers show, with the state directory that made each.
    package func status() async throws -> Answer {
        try requireNamedDirectory()
        if let journal = try RunJournal.load(RunJournal.fileName, from: stateDirectory) {
            let alive = journal.supervisorIsRunning
            var lines = [
                "run \(journal.runID): \(alive ? "in progress" : "INTERRUPTED (its supervisor is gone: run pgwarden recover\(option))"), phase \(journal.phase.rawValue)",
                "  command: \(ShellQuoting.command(journal.command))",
                "  started: \(journal.startedAt.formatted(.iso8601)); workers paused: \(journal.workersPaused ? "yes" : "no")",
            ]
            // The sets of a deployment file; not the one crontab set of the flags, which the line above covers.
            let sets = journal.workerSets ?? []
            for set in sets where sets.count > 1 || set.directory != stateDirectory.path || set.host != nil {
                lines.append(Self.line(set))
            }
            if let pid = journal.migrationPID { lines.append("  migration pid: \(pid)") }
            if let wait = journal.lastLockWait { lines.append("  last lock wait: \(wait)") }
            return Answer(lines: lines, status: alive ? 0 : Code.needsRecovery)
        }
        if !named, let elsewhere = await pausesElsewhere() {
            return Answer(lines: elsewhere, status: Code.needsRecovery)
        }
        if let last = try RunJournal.load(RunJournal.lastFileName, from: stateDirectory) {
            let lines =
                [
                    "last run \(last.runID): \(last.outcome ?? "?"), finished \(last.finishedAt?.formatted(.iso8601) ?? "?")",
                    "  command: \(ShellQuoting.command(last.command))",
                ] + (last.reportPath.map { ["  report: \($0)"] } ?? [])
            if let left = try leftPaused(by: last) {
                return Answer(lines: lines + left, status: Code.needsRecovery)
            }
            return Answer(lines: lines, status: last.outcome == "succeeded" ? 0 : Code.lastRunDidNotSucceed)
        }
        let sets = try WorkerSetPause.pausedSetNames(under: stateDirectory)
        if !sets.isEmpty {
            // A host's sets, paused at a coordinator's request (or a run's whose journal is gone).
            let lines = sets.map { "  set \($0): paused" }
            return Answer(
                lines: ["no run recorded in \(stateDirectory.path), but worker sets are paused there:"] + lines
                    + ["  run pgwarden recover\(option)"],
                status: Code.needsRecovery
            )
        }
        // Not a silent "nothing": without cron's spool, other users' paused crontabs were not searched.
        let scope =
            CrontabMarkers.canReadEveryCrontab
            ? [] : ["(only your own crontab was searched for paused lines: other users' need root to read)"]
        return Answer(lines: ["no run recorded in \(stateDirectory.path)"] + scope, status: 0)
    }

    /// Crontabs that hold pgwarden's pause markers, and the state directory that paused each.
    private func pausesElsewhere() async -> [String]? {
        let found = await CrontabMarkers.pausedCrontabs()
        guard !found.isEmpty else { return nil }
        var lines = ["no run recorded in \(stateDirectory.path), but crontabs hold lines paused by pgwarden:"]
        for pause in found {
            // A set's own journal directory (STATE/sets/ID) answers to the state directory above it.
            let directory = pause.stateDirectory.map { path in
                let parts = path.split(separator: "/", omittingEmptySubsequences: false)
                let base =
                    parts.count > 2 && parts[parts.count - 2] == "sets"
                    ? parts.dropLast(2).joined(separator: "/") : path
                return ShellQuoting.quote(base)
            }
            lines.append(
                "  \(pause.user): pause \(pause.pauseIDs.joined(separator: ", "))"
                    + (directory.map { ", state directory \($0): pgwarden status --state-dir \($0)" } ?? "")
            )
        }
        return lines
    }
}
