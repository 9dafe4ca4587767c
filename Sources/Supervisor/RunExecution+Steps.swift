import Enforcement
import FoundationEssentials
import LockInspection
import PGWardenSQL
import Postgres
import Reload
import WardenSupport
import Workers

/// The run's steps around the command: the resume (from the journal, or from memory), the reloads,
/// the post-checks, and the end: report, journal, exit status.
extension RunExecution {
    /// Resumes this run's pause; returns what someone else changed meanwhile, as warnings. When the state
    /// directory was removed or replaced under the run, the pause kept in memory is resumed all the same
    /// (journaled in a rescue directory), and the run does not end `succeeded`.
    func resumeFromJournalOrMemory() async throws -> [String] {
        let directory = supervisor.stateDirectory
        var outcome: WorkerPause.ResumeOutcome
        if let pause, !workerPause().hasJournal(of: pause.pauseID) {
            lostState.append(
                "the pause journal in the state directory \(directory.path) was lost during the run (removed or replaced);"
                    + " the workers were resumed from memory"
            )
            log.warn(lostState.last!)
            do {
                // Another pause's journal there now is never written over: this one is resumed elsewhere.
                if workerPause().hasJournal { throw WorkersError(.stateDirectory, "it holds another pause's journal") }
                outcome = try await workerPause().resume(ownedBy: owner, remembered: pause)
            } catch {
                let rescue = WorkerPause.rescueDirectory(for: runID)
                log.warn(
                    "the state directory cannot be used (\(Supervisor.describe(error))): resuming through \(rescue.path)"
                )
                outcome = try await workerPause(in: rescue).resume(ownedBy: owner, remembered: pause)
            }
        } else {
            outcome = try await workerPause().resume(ownedBy: owner, remembered: pause)
        }
        switch outcome {
        case .resumed(let resumed):
            resumed.repaired.map { log.warn($0.description) }
            lostState += resumed.writeFailures.map { "the workers' journal: \($0)" }
            log.say(
                resumed.restoredExactly ? "workers resumed: the crontab is byte for byte as before" : "workers resumed"
            )
            return resumed.lines.filter { $0.state != .paused }.map {
                "a paused crontab line was \($0.state.rawValue) by someone else meanwhile: \(Redaction.redact($0.line.line))"
            }
        case .neverInstalled, .nothingPaused:
            log.say("no crontab change to undo")
            return []
        }
    }

    /// Reloads every app server due at `time`, in order; the first that fails ends the step.
    func reload(_ time: RunMachine.ReloadTime) async -> RunMachine.Event {
        let due = settings.effectiveAppServers.filter { $0.when.rawValue == time.rawValue }.map(\.server)
        for (index, server) in due.enumerated() {
            let failure =
                if let host = server.host {
                    await reloadRemote(server, on: host, time)
                } else {
                    await reload(server.strategy, named: server.name, time)
                }
            if let failure {
                let rolling = Self.rollingState(due, failedAt: index)
                if !rolling.isEmpty { log.warn(String(rolling.dropFirst(2))) }
                return .reloadFailed(time, failure + rolling)
            }
        }
        return .reloaded(time)
    }

    /// Reloads one app server; why it failed, if it did.
    private func reload(
        _ strategy: UWSGIReload.Strategy,
        named name: String,
        _ time: RunMachine.ReloadTime
    ) async -> String? {
        do {
            try await Supervisor.step("reload \(name) (\(time.rawValue))", &report, log: log) {
                let reload = UWSGIReload(strategy: strategy, timeout: settings.reloadTimeout, logger: logger)
                let outcome = try await Supervisor.interruptible(state) { try await reload.run() }
                log.say(
                    "\(name) reloaded in \(DurationSyntax.format(seconds: outcome.seconds)): workers \(outcome.oldWorkers.map(\.pid)) → \(outcome.newWorkers.map(\.pid))"
                )
            }
            return nil
        } catch {
            let failure = "the \(name) reload (\(time.rawValue)) failed: \(Supervisor.describe(error))"
            log.warn(failure)
            return failure
        }
    }

    /// The run's audit: `upgrade-audit.jsonl` in the state directory, and `--audit-log` when given.
    func openAuditLogs() -> [any AuditSink] {
        var sinks: [any AuditSink] = []
        for path in [supervisor.stateDirectory.path + "/upgrade-audit.jsonl", settings.auditLogPath].compactMap({ $0 })
        {
            do {
                sinks.append(try AuditLog(appendingTo: path))
            } catch {
                log.warn("cannot open the audit log: \(error.summary)")
            }
        }
        return sinks
    }

    /// `alembic_version` and `django_migrations` after the run, and indexes left INVALID by it.
    func postChecks() async {
        do {
            let (connection, role) = try await InspectorSession.open(
                connectionString: settings.connectionString,
                logger: logger
            )
            defer { Task { await connection.close() } }
            report.alembicAfter = try await supervisor.alembicVersion(on: connection, role: role.role)
            report.djangoAfter = try await supervisor.djangoMigrations(on: connection, role: role.role)
            let invalid = try await connection.query(Queries.invalidIndexes).rows.compactMap {
                try $0.decode(String.self, "index")
            }
            report.invalidIndexes = invalid.filter { !preflight.invalidIndexes.contains($0) }
            log.say("alembic_version: \(report.alembicBefore ?? "none") → \(report.alembicAfter ?? "none")")
            if let django = DjangoMigrations.summary(before: report.djangoBefore, after: report.djangoAfter) {
                log.say(django)
            }
            for index in report.invalidIndexes {
                log.warn(
                    "index \(index) is INVALID after the migration (a failed CREATE INDEX CONCURRENTLY?): drop it and build it again"
                )
                report.warnings.append("invalid index \(index)")
            }
        } catch {
            log.warn("post-checks failed: \(Supervisor.describe(error))")
        }
    }

    /// Writes the report and the journal's end; returns the exit status.
    func finish(_ conclusion: RunConclusion, attemptEndings: [String?]) -> Int32 {
        for (index, ending) in attemptEndings.enumerated() where index < report.attempts.count {
            report.attempts[index].endedBy = ending
        }
        report.finishedAt = Date()
        report.outcome = conclusion.outcome
        report.exitStatus = conclusion.exitStatus
        report.warnings += conclusion.supervisorFailures.filter { !report.warnings.contains($0) }
        var failures = lostState + supervisor.writeFailures(journal: journal)
        log.say(
            "run \(runID) \(report.outcome.rawValue) in \(DurationSyntax.format(seconds: report.finishedAt!.timeIntervalSince(report.startedAt)))"
                + " (exit status \(conclusion.exitStatus))"
        )
        let reportFailures = supervisor.writeReport(report)
        failures += reportFailures
        let written = reportFailures.isEmpty ? settings.reportPath : nil
        journal.finish {
            $0.phase = .finished
            $0.outcome = report.outcome.rawValue
            $0.finishedAt = report.finishedAt
            $0.reportPath = written
        }
        log.sync()
        failures += supervisor.writeFailures(journal: journal)
        return supervisor.finalStatus(conclusion.exitStatus, failures: failures)
    }
}
