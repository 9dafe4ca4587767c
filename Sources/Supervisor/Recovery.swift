import FoundationEssentials
import Logging
import Processes
import WardenSupport
import Workers

#if canImport(Glibc)
    import Glibc
#endif

/// `pgwarden recover` and `pgwarden status`: what the journal says of the current or last run.
public struct Recovery: Sendable {
    private let stateDirectory: StateDirectory
    private let logger: Logger

    /// Creates recovery on a state directory.
    public init(stateDirectory: String?, logger: Logger) {
        self.stateDirectory = StateDirectory(path: stateDirectory)
        self.logger = logger
    }

    /// Restores what the journal says is still paused, and reports the migration's last known state.
    /// Returns the lines to show.
    public func recover(stopMigration: Bool = false, connectionString: String? = nil) async throws -> [String] {
        try stateDirectory.prepare()
        var lines: [String] = []
        var journal = try RunJournal.load(RunJournal.fileName, from: stateDirectory)
        if let journal {
            if kill(journal.supervisorPID, 0) == 0,
                ProcFileSystem.entry(for: journal.supervisorPID)?.commandLine.contains("pgwarden") == true
            {
                throw SupervisorError(
                    "run \(journal.runID) is still in progress (supervisor pid \(journal.supervisorPID))",
                    hint: "recover is for a run whose supervisor died"
                )
            }
            lines.append(
                "run \(journal.runID) (\(ShellQuoting.command(journal.command))) stopped at phase \(journal.phase.rawValue), started \(journal.startedAt.formatted(.iso8601))"
            )
            if let pid = journal.migrationPID {
                lines += await MigrationStop(
                    journal: journal,
                    connectionString: connectionString,
                    logger: logger
                ).recover(pid: pid, stop: stopMigration)
            }
            if let wait = journal.lastLockWait { lines.append("its last known lock wait: \(wait)") }
        }
        switch try await WorkerPause(stateDirectory: stateDirectory, logger: logger).resume() {
        case .nothingPaused: lines.append("no workers were paused")
        case .neverInstalled(let record, let repaired):
            repaired.map { lines.append("warning: " + $0.description) }
            lines.append("pause \(record.pauseID) never reached the crontab: nothing to restore")
        case .resumed(let resumed):
            let (record, reports, exactly) = (resumed.record, resumed.lines, resumed.restoredExactly)
            resumed.repaired.map { lines.append("warning: " + $0.description) }
            resumed.writeFailures.forEach { lines.append("warning: " + $0) }
            lines.append(
                "resumed \(Plural.count(reports.filter { $0.state == .paused }.count, "crontab line", "crontab lines")) of \(record.user)"
                    + (exactly ? " (byte for byte as before)" : "")
            )
            for report in reports where report.state != .paused {
                lines.append(
                    "warning: a paused line was \(report.state.rawValue) by someone else meanwhile: \(Redaction.redact(report.line.line))"
                )
            }
        }
        if journal != nil {
            journal!.phase = .recovered
            journal!.finishedAt = Date()
            journal!.outcome = "recovered"
            try journal!.save(as: RunJournal.lastFileName, in: stateDirectory)
            try stateDirectory.remove(RunJournal.fileName)
        }
        return lines
    }

    /// The current or last run, from the journal.
    public func status() throws -> [String] {
        if let journal = try RunJournal.load(RunJournal.fileName, from: stateDirectory) {
            let alive = kill(journal.supervisorPID, 0) == 0
            var lines = [
                "run \(journal.runID): \(alive ? "in progress" : "INTERRUPTED (its supervisor is gone: run pgwarden recover)"), phase \(journal.phase.rawValue)",
                "  command: \(ShellQuoting.command(journal.command))",
                "  started: \(journal.startedAt.formatted(.iso8601)); workers paused: \(journal.workersPaused ? "yes" : "no")",
            ]
            if let pid = journal.migrationPID { lines.append("  migration pid: \(pid)") }
            if let wait = journal.lastLockWait { lines.append("  last lock wait: \(wait)") }
            return lines
        }
        if let last = try RunJournal.load(RunJournal.lastFileName, from: stateDirectory) {
            return [
                "last run \(last.runID): \(last.outcome ?? "?"), finished \(last.finishedAt?.formatted(.iso8601) ?? "?")",
                "  command: \(ShellQuoting.command(last.command))",
            ] + (last.reportPath.map { ["  report: \($0)"] } ?? [])
        }
        return ["no run recorded in \(stateDirectory.path)"]
    }
}
