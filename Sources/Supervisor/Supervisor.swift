import Enforcement
import FoundationEssentials
import Guard
import LockInspection
import Logging
import PGWardenSQL
import Policy
import Postgres
import Processes
import Reload
import Subprocess
import Synchronization
import WaitGraph
import WardenSupport
import Workers

#if canImport(Glibc)
    import Glibc
#endif

/// `pgwarden upgrade`: the runbook as one command — preflight, journal, pause workers,
/// reload, the migration (watched and unblocked), reload, resume workers (always), post-checks, report.
public struct Supervisor: Sendable {
    /// Exit status when pgwarden itself failed after the command ran (a resume that failed, say).
    public static let supervisorFailureStatus: Int32 = ExitStatus.supervisorFailure

    let settings: UpgradeSettings
    let log: RunLog
    let logger: Logger
    let stateDirectory: StateDirectory

    /// Creates a supervisor.
    public init(settings: UpgradeSettings, log: RunLog = RunLog(), logger: Logger) {
        self.settings = settings
        self.log = log
        self.logger = logger
        stateDirectory = StateDirectory(path: settings.stateDirectory)
    }

    /// Everything a run shares between its steps and its signal handler.
    final class RunState: Sendable {
        let processGroup = Mutex<pid_t?>(nil)
        let interruptedBy = Mutex<Int32?>(nil)
        /// Ends the wait in progress (a reload's) at once on SIGINT/SIGTERM.
        let cancelWait = Mutex<(@Sendable () -> Void)?>(nil)

        var isInterrupted: Bool { interruptedBy.withLock { $0 } != nil }
    }

    /// Runs the whole thing and returns the exit status.
    ///
    /// - Throws: only for failures before anything changed (preflight), as one clear error.
    public func run(interactiveDefault: Bool) async throws -> Int32 {
        let runID = RunIdentifier.make(at: Date())
        var report = RunReport(runID: runID, command: settings.command, startedAt: Date())
        let applicationName = "pgwarden-migration-\(runID)"
        let policy = try settings.policyPath.map { path throws in try Policy(contentsOf: path) }

        // From the first step on: a SIGHUP (an SSH drop) must never end the run half-way,
        // and a SIGINT or SIGTERM is carried out between steps.
        let state = RunState()
        let monitor = SignalMonitor([SIGHUP, SIGINT, SIGTERM]) { [log] signal in
            if signal == SIGHUP {
                log.say("SIGHUP ignored: the run goes on (an SSH drop does not stop pgwarden)")
                return
            }
            state.interruptedBy.withLock { $0 = $0 ?? signal }
            log.warn("interrupted (signal \(signal)): stopping the migration, then restoring the workers")
            state.cancelWait.withLock { $0?() }
            if let group = state.processGroup.withLock({ $0 }) { ProcessGroup.stop(group, log: log) }
        }
        defer { monitor.cancel() }

        // Preflight: nothing changes until every check passes.
        log.say("run \(runID): \(ShellQuoting.command(settings.command.map(Redaction.redact)))")
        let preflight = try await step("preflight", &report) { () async throws -> Preflight in
            try await self.preflight()
        }
        report.alembicBefore = preflight.alembicVersion
        report.serverVersion = preflight.role.serverVersionText
        let forecast = await UpgradeForecast.run(settings, log: log, logger: logger)
        report.forecast = forecast?.json
        let preflightActions = try PreflightActions(
            forecast: forecast,
            policy: policy,
            dryRun: settings.dryRun,
            log: log
        )
        report.warnings += preflightActions.warnings
        if settings.dryRun {
            printPlan(preflight, applicationName: applicationName)
            return 0
        }
        try prepareStateDirectory()
        let lock: StateLock
        do {
            lock = try stateDirectory.lock(named: "upgrade.lock")
        } catch {
            throw SupervisorError(error.summary, hint: error.hint)
        }
        defer { lock.release() }
        let logPath = stateDirectory.path + "/upgrade-\(runID).log"
        do { try log.keep(in: logPath) } catch { throw SupervisorError(error.summary, hint: error.hint) }
        defer { log.close() }
        log.say("run log: \(logPath)")
        let journal = RunJournalStore(
            RunJournal(
                runID: runID,
                command: settings.command.map(Redaction.redact),
                startedAt: report.startedAt,
                phase: .started,
                supervisorPID: getpid(),
                reportPath: settings.reportPath
            ),
            directory: stateDirectory,
            log: log
        )
        try journal.create()
        FailPoint.hit("upgrade.journaled")

        var supervisorFailed = false
        let workers = WorkerPause(stateDirectory: stateDirectory, logger: logger)
        if !settings.pausePatterns.isEmpty, state.interruptedBy.withLock({ $0 }) == nil {
            do {
                try await step("pause workers", &report) {
                    let outcome = try await workers.pause(
                        user: preflight.crontabUser,
                        patterns: try self.settings.pausePatterns.map(WorkerPattern.init),
                        stop: self.settings.stopWorkers,
                        scope: self.settings.stopScope,
                        grace: self.settings.grace,
                        owner: "pgwarden upgrade \(runID)",
                        stopInterrupted: { state.isInterrupted }
                    )
                    self.log.say(
                        "paused \(Plural.count(outcome.record.pausedLines.count, "crontab line", "crontab lines")) of \(preflight.crontabUser)"
                    )
                    for process in outcome.notStartedByCron {
                        self.log.say(
                            "  pid \(process.pid) matching, not started by cron: left running: \(Redaction.redact(process.commandLine))"
                        )
                    }
                    for worker in outcome.stopped {
                        self.log.say(
                            "  worker pid \(worker.process.pid) \(worker.outcome.description): \(Redaction.redact(worker.process.commandLine))"
                        )
                    }
                }
                journal.update {
                    $0.workersPaused = true
                    $0.phase = .workersPaused
                }
                FailPoint.hit("upgrade.workers-paused")
            } catch {
                log.warn("cannot pause the workers: \(Self.describe(error)); the migration is not run")
                supervisorFailed = true
            }
        }

        var exitStatus: Int32 = 0
        var migrationSucceeded = false
        if !supervisorFailed, state.interruptedBy.withLock({ $0 }) == nil {
            if settings.effectiveReloadWhen == .before, let strategy = settings.reloadStrategy {
                do {
                    try await reload(strategy, when: "before", &report, state: state)
                } catch {
                    supervisorFailed = true
                }
            }
            if !supervisorFailed {
                if !preflightActions.decision.actions.isEmpty {
                    report.preflightActions = await preflightActions.carryOut(
                        connectionString: settings.connectionString,
                        serverVersion: report.serverVersion,
                        audit: openAuditLogs(),
                        log: log,
                        logger: logger
                    )
                }
                journal.update { $0.phase = .migrating }
                (exitStatus, migrationSucceeded) = await runAttempts(
                    &report,
                    journal: journal,
                    applicationName: applicationName,
                    policy: policy,
                    interactive: settings.interactive ?? interactiveDefault,
                    state: state
                )
                FailPoint.hit("upgrade.migrated")
                if migrationSucceeded, settings.effectiveReloadWhen == .after, let strategy = settings.reloadStrategy,
                    state.interruptedBy.withLock({ $0 }) == nil
                {
                    do { try await reload(strategy, when: "after", &report, state: state) } catch {
                        supervisorFailed = true
                    }
                } else if settings.effectiveReloadWhen == .after, !migrationSucceeded {
                    log.warn("not reloading uWSGI after a migration that did not succeed")
                }
            }
        }

        // Always: the workers come back.
        journal.update { $0.phase = .finishing }
        FailPoint.hit("upgrade.before-resume")
        // Its own pause is resumed even when the pause step failed half-way (the crontab may be paused).
        var resumeWriteFailures: [String] = []
        if journal.current.workersPaused || !settings.pausePatterns.isEmpty {
            do {
                let drift = try await step("resume workers", &report) { () async throws -> [String] in
                    switch try await workers.resume(ownedBy: "pgwarden upgrade \(runID)") {
                    case .resumed(let resumed):
                        let (lines, exactly) = (resumed.lines, resumed.restoredExactly)
                        resumed.repaired.map { self.log.warn($0.description) }
                        resumeWriteFailures = resumed.writeFailures
                        self.log.say(
                            exactly ? "workers resumed: the crontab is byte for byte as before" : "workers resumed"
                        )
                        return lines.filter { $0.state != .paused }.map {
                            "a paused crontab line was \($0.state.rawValue) by someone else meanwhile: \(Redaction.redact($0.line.line))"
                        }
                    case .neverInstalled, .nothingPaused:
                        self.log.say("no crontab change to undo")
                        return []
                    }
                }
                drift.forEach(log.warn)
                report.warnings += drift
                journal.update { $0.workersPaused = false }
            } catch {
                log.warn("cannot resume the workers: \(Self.describe(error)); run pgwarden recover")
                supervisorFailed = true
            }
        }

        await postChecks(&report, before: preflight)
        let interrupted = state.interruptedBy.withLock { $0 }
        report.finishedAt = Date()
        report.exitStatus =
            interrupted.map { 128 + $0 }
            ?? (supervisorFailed && exitStatus == 0 ? Self.supervisorFailureStatus : exitStatus)
        report.outcome =
            interrupted != nil
            ? .interrupted
            : migrationSucceeded
                ? .succeeded
                : report.attempts.last?.endedBy.map { ["max-lock-wait", "operator"].contains($0) } == true
                    ? .aborted : .failed
        // An abort over a lock wait is not a failed migration: its own status says so (75, EX_TEMPFAIL).
        if report.outcome == .aborted, interrupted == nil, report.exitStatus != 0 {
            report.exitStatus = ExitStatus.lockWaitAbort
        }
        var failures = writeFailures(journal: journal) + resumeWriteFailures.map { "the workers' journal: \($0)" }
        if !failures.isEmpty, report.exitStatus == 0 { report.exitStatus = Self.supervisorFailureStatus }
        report.warnings += failures
        log.say(
            "run \(runID) \(report.outcome.rawValue) in \(DurationSyntax.format(seconds: report.finishedAt!.timeIntervalSince(report.startedAt)))"
                + " (exit status \(report.exitStatus!))"
        )
        failures += writeReport(report)
        journal.finish {
            $0.phase = .finished
            $0.outcome = report.outcome.rawValue
            $0.finishedAt = report.finishedAt
        }
        log.sync()
        failures += writeFailures(journal: journal)
        return finalStatus(report.exitStatus!, failures: failures)
    }

    // MARK: - Steps

    private func step<Result>(
        _ name: String,
        _ report: inout RunReport,
        _ body: () async throws -> Result
    ) async throws -> Result {
        log.say("\(name)…")
        var record = RunReport.Step(name: name, startedAt: Date(), ok: false)
        do {
            let result = try await body()
            record.ok = true
            record.finishedAt = Date()
            report.steps.append(record)
            return result
        } catch {
            record.finishedAt = Date()
            record.detail = Self.describe(error)
            report.steps.append(record)
            throw error
        }
    }

    private func reload(
        _ strategy: UWSGIReload.Strategy,
        when: String,
        _ report: inout RunReport,
        state: RunState
    ) async throws {
        do {
            try await step("reload uWSGI (\(when))", &report) {
                let reload = UWSGIReload(strategy: strategy, timeout: self.settings.reloadTimeout, logger: self.logger)
                let outcome = try await Self.interruptible(state) { try await reload.run() }
                self.log.say(
                    "uWSGI reloaded in \(DurationSyntax.format(seconds: outcome.seconds)): workers \(outcome.oldWorkers.map(\.pid)) → \(outcome.newWorkers.map(\.pid))"
                )
            }
        } catch {
            log.warn("the uWSGI reload (\(when)) failed: \(Self.describe(error))")
            throw error
        }
    }

    /// Runs the command, again after a lock timeout or a lock-wait cancel when `--retries` allows.
    private func runAttempts(
        _ report: inout RunReport,
        journal: RunJournalStore,
        applicationName: String,
        policy: Policy?,
        interactive: Bool,
        state: RunState
    ) async -> (Int32, Bool) {
        var environment = ["PGAPPNAME": applicationName]
        if let connectionString = settings.connectionString,
            let variables = try? ConnectionEnvironment.variables(for: connectionString)
        {
            environment.merge(variables) { $1 }
        }
        if let timeout = settings.lockTimeout {
            let inherited = environment["PGOPTIONS"] ?? ProcessInfo.processInfo.environment["PGOPTIONS"] ?? ""
            environment["PGOPTIONS"] = (inherited + " -c lock_timeout=\(timeout.milliseconds)ms").trimmedOfWhitespace
        }
        let process = MigrationProcess(command: settings.command, environment: environment, log: log)
        var status: Int32 = 1
        let prompt = interactive ? OperatorPrompt() : nil  // one for the whole run
        if !interactive, policy == nil, settings.maxLockWait == nil {
            log.warn(
                "nothing will act on a lock wait of the migration: no --policy, no --max-lock-wait, not interactive;"
                    + " a blocked migration waits until its blocker ends"
                    + (settings.lockTimeout.map {
                        " or lock_timeout (\(DurationSyntax.format(seconds: $0.seconds))) ends it"
                    } ?? "")
            )
        }
        let audit = openAuditLogs()
        for number in 1...(settings.retries + 1) {
            var attempt = RunReport.Attempt(number: number, startedAt: Date())
            let monitor = MigrationMonitor(
                settings: settings,
                runApplicationName: applicationName,
                policy: policy,
                prompt: prompt,
                audit: audit,
                log: log,
                logger: logger,
                onWait: { wait in journal.update { $0.lastLockWait = wait } }
            )
            monitor.attempt = number
            await monitor.takeBaseline()
            log.say("migration attempt \(number) starts (application_name \(applicationName))")
            let watching = Task { await monitor.watch(processGroup: { state.processGroup.withLock { $0 } }) }
            do {
                status = try await process.run { pid in
                    state.processGroup.withLock { $0 = pid }
                    journal.update {
                        $0.migrationPID = pid
                        $0.migrationStartTime = ProcessIdentity.current(pid)?.startTime
                    }
                    if state.interruptedBy.withLock({ $0 }) != nil { ProcessGroup.stop(pid, log: self.log) }
                }
            } catch {
                log.warn(error.summary)
                status = 127
            }
            state.processGroup.withLock { $0 = nil }
            watching.cancel()
            await watching.value
            let outlived = await settleLeftovers(applicationName, state: state, &report)
            attempt.finishedAt = Date()
            attempt.exitStatus = status
            if outlived, status == 0 { status = Self.supervisorFailureStatus }
            let timedOut =
                settings.lockTimeout != nil && monitor.records.contains { !$0.blockers.isEmpty } && status != 0
            attempt.endedBy =
                state.interruptedBy.withLock({ $0 }) != nil
                ? "interrupted"
                : monitor.abort?.rawValue
                    ?? (timedOut ? "lock timeout" : outlived ? "outlived by its processes or sessions" : nil)
            report.attempts.append(attempt)
            report.lockWaits += monitor.records
            report.warnings += monitor.warnings
            log.say(
                "migration attempt \(number) exited with status \(attempt.exitStatus ?? status) after \(DurationSyntax.format(seconds: attempt.finishedAt!.timeIntervalSince(attempt.startedAt)))"
                    + (attempt.endedBy.map { " (\($0))" } ?? "")
            )
            if status == 0 { return (0, true) }
            let retryable = attempt.endedBy == "lock timeout" || attempt.endedBy == "max-lock-wait"
            guard retryable, number <= settings.retries, state.interruptedBy.withLock({ $0 }) == nil else { break }
            log.say(
                "retrying in \(DurationSyntax.format(seconds: settings.retryDelay.seconds)) (--retries \(settings.retries))"
            )
            await Self.sleep(for: settings.retryDelay, unless: state)
            if state.isInterrupted { break }
        }
        return (status, false)
    }

    /// The run's audit: `upgrade-audit.jsonl` in the state directory, and `--audit-log` when given.
    private func openAuditLogs() -> [any AuditSink] {
        var sinks: [any AuditSink] = []
        for path in [stateDirectory.path + "/upgrade-audit.jsonl", settings.auditLogPath].compactMap({ $0 }) {
            do {
                sinks.append(try AuditLog(appendingTo: path))
            } catch {
                log.warn("cannot open the audit log: \(error.summary)")
            }
        }
        return sinks
    }

    // MARK: - Preflight and post-checks

    struct Preflight: Sendable {
        var role: SessionRole
        var blockers: LockSnapshot
        var crontabUser: String
        var crontabLines: [CrontabPause.PausedLine] = []
        var runningWorkers: [String] = []
        var alembicVersion: String?
        var invalidIndexes: [String]
    }

    private func preflight() async throws -> Preflight {
        if let running = try RunJournal.load(RunJournal.fileName, from: stateDirectory),
            kill(running.supervisorPID, 0) != 0
        {
            throw SupervisorError(
                "run \(running.runID) did not finish (its supervisor, pid \(running.supervisorPID), is gone)",
                hint: "pgwarden recover" + (settings.stateDirectory.map { " --state-dir \($0)" } ?? "")
            )
        }
        guard let program = settings.command.first else { throw SupervisorError("no command: give it after --") }
        if !program.contains("/"), await Self.resolve(program) == nil {
            throw SupervisorError("command not found: \(program)", hint: "give its path, or fix PATH")
        }
        if program.contains("/"), access(program, X_OK) != 0 {
            throw SupervisorError("\(program) is not an executable file")
        }
        let (connection, role) = try await InspectorSession.open(
            connectionString: settings.connectionString,
            logger: logger
        )
        defer { Task { await connection.close() } }
        role.actingLimitations.forEach { log.warn($0) }
        if !role.signalBackend, settings.policyPath != nil || settings.maxLockWait != nil {
            log.warn("role \(role.role) lacks pg_signal_backend: it can signal only its own roles' sessions")
        }
        let snapshot = try await LockInspector(connection: connection, role: role).pollReadingLocks()
        if !snapshot.isEmpty {
            log.warn(
                "sessions already wait on locks: \(snapshot.waits.count) waiting, root blockers \(snapshot.roots.map(\.pid))"
            )
        }
        var result = Preflight(
            role: role,
            blockers: snapshot,
            crontabUser: try settings.crontabUser ?? UserAccount.current().name,
            alembicVersion: try await InspectorSession.queryOnRoleSearchPath(Queries.alembicVersion, on: connection)
                .rows.first?.decode(
                    String.self,
                    "version"
                ),
            invalidIndexes: try await connection.query(Queries.invalidIndexes).rows.compactMap {
                try $0.decode(String.self, "index")
            }
        )
        if !settings.pausePatterns.isEmpty {
            let patterns = try settings.pausePatterns.map(WorkerPattern.init)
            let plan = try await WorkerPause(stateDirectory: stateDirectory, logger: logger).plan(
                user: result.crontabUser,
                patterns: patterns
            )
            result.crontabLines = plan.lines
            result.runningWorkers = plan.runningWorkers.map { "pid \($0.pid): \(Redaction.redact($0.commandLine))" }
        }
        if let strategy = settings.reloadStrategy, settings.effectiveReloadWhen != .none {
            _ = try await UWSGIReload(strategy: strategy, timeout: settings.reloadTimeout, logger: logger).preflight()
        }
        return result
    }

    private func printPlan(_ preflight: Preflight, applicationName: String) {
        log.say("dry run: nothing will be changed. The plan:")
        if preflight.crontabLines.isEmpty {
            log.say("  workers: none paused")
        } else {
            log.say(
                "  pause \(Plural.count(preflight.crontabLines.count, "crontab line", "crontab lines")) of \(preflight.crontabUser):"
            )
            preflight.crontabLines.forEach { log.say("    line \($0.number): \(Redaction.redact($0.line))") }
            log.say(
                "  running workers (--stop-workers \(settings.stopWorkers.rawValue)): \(preflight.runningWorkers.isEmpty ? "none" : preflight.runningWorkers.joined(separator: "; "))"
            )
        }
        log.say("  reload uWSGI: \(settings.effectiveReloadWhen.rawValue)")
        log.say(
            "  run: \(ShellQuoting.command(settings.command.map(Redaction.redact))) (application_name \(applicationName))"
        )
        log.say(
            "  blockers right now: \(preflight.blockers.isEmpty ? "none" : preflight.blockers.roots.map { "pid \($0.pid) (\($0.activity?.state ?? "?"), blocks \($0.blockedTotal))" }.joined(separator: ", "))"
        )
        log.say("  alembic_version: \(preflight.alembicVersion ?? "(no alembic_version table)")")
    }

    private func postChecks(_ report: inout RunReport, before: Preflight) async {
        do {
            let (connection, _) = try await InspectorSession.open(
                connectionString: settings.connectionString,
                logger: logger
            )
            defer { Task { await connection.close() } }
            report.alembicAfter = try await InspectorSession.queryOnRoleSearchPath(
                Queries.alembicVersion,
                on: connection
            )
            .rows.first?.decode(
                String.self,
                "version"
            )
            let invalid = try await connection.query(Queries.invalidIndexes).rows.compactMap {
                try $0.decode(String.self, "index")
            }
            report.invalidIndexes = invalid.filter { !before.invalidIndexes.contains($0) }
            log.say("alembic_version: \(report.alembicBefore ?? "none") → \(report.alembicAfter ?? "none")")
            for index in report.invalidIndexes {
                log.warn(
                    "index \(index) is INVALID after the migration (a failed CREATE INDEX CONCURRENTLY?): drop it and build it again"
                )
                report.warnings.append("invalid index \(index)")
            }
        } catch {
            log.warn("post-checks failed: \(Self.describe(error))")
        }
    }

    private func prepareStateDirectory() throws {
        do { try stateDirectory.prepare() } catch { throw SupervisorError(error.summary, hint: error.hint) }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as any DiagnosableError: error.summary
        case let error as PostgresError: error.description
        default: "\(error)"
        }
    }

    /// Where `PATH` finds `program`, searched as the migration's own start will search it; `nil`: nowhere.
    static func resolve(_ program: String) async -> String? {
        (try? await Executable.name(program).resolveExecutablePath(in: .inherit))?.string
    }
}

/// Stops a process group: SIGTERM, then SIGKILL if it has not gone after a grace period.
enum ProcessGroup {
    static func stop(_ group: pid_t, log: RunLog, grace: Duration = .seconds(10)) {
        kill(-group, SIGTERM)
        DetachedThread.start {
            let deadline = ContinuousClock.now.advanced(by: grace)
            while ContinuousClock.now < deadline {
                if kill(-group, 0) != 0 { return }
                usleep(50_000)
            }
            log.warn("the migration's process group \(group) outlived SIGTERM by \(grace): SIGKILL")
            kill(-group, SIGKILL)
        }
    }
}
