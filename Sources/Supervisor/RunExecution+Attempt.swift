import FoundationEssentials
import Postgres
import Processes
import WardenSupport

/// One run of the command: started with the run's environment, watched by its monitor, and what is
/// left of it once it exits settled (waited for, then stopped and terminated).
extension RunExecution {
    /// How long the run's sessions and processes may take to end by themselves after the command exits.
    static let leftoverGrace = Duration.seconds(2)

    /// What of `--dsn` the migration is never handed: pgwarden's role, its credentials, its session options.
    static let watcherOnlyVariables: Set<String> = [
        "PGUSER", "PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSSLCERT", "PGSSLKEY", "PGOPTIONS",
    ]

    /// The migration's environment: the operator's own, with the run's `PGAPPNAME`; the connection of
    /// `--migration-dsn` when given, else only where `--dsn` points (host, port, database, TLS mode: the
    /// database pgwarden watches), never pgwarden's role, password or options; and `PGOPTIONS` with
    /// `--lock-timeout`.
    var migrationEnvironment: [String: String] {
        var environment = ["PGAPPNAME": applicationName]
        if let connectionString = settings.migrationConnectionString,
            let variables = try? ConnectionEnvironment.variables(for: connectionString)
        {
            environment.merge(variables) { $1 }
        } else if let connectionString = settings.connectionString,
            let variables = try? ConnectionEnvironment.variables(for: connectionString)
        {
            environment.merge(variables.filter { !Self.watcherOnlyVariables.contains($0.key) }) { $1 }
        }
        if let timeout = settings.lockTimeout {
            let inherited = environment["PGOPTIONS"] ?? ProcessInfo.processInfo.environment["PGOPTIONS"] ?? ""
            environment["PGOPTIONS"] = (inherited + " -c lock_timeout=\(timeout.milliseconds)ms").trimmedOfWhitespace
        }
        return environment
    }

    /// Runs attempt `number` to its end, watched; returns what came of it.
    func runAttempt(_ number: Int) async -> AttemptResult {
        if number == 1 { warnIfNothingActs() }
        journal.update { $0.phase = .migrating }
        var attempt = RunReport.Attempt(number: number, startedAt: Date())
        let monitor = MigrationMonitor(
            settings: settings,
            runApplicationName: applicationName,
            policy: policy,
            prompt: prompt,
            audit: audit,
            log: log,
            logger: logger,
            onWait: { [journal] wait in journal.update { $0.lastLockWait = wait } }
        )
        monitor.attempt = number
        monitor.estimates = estimates
        await monitor.takeBaseline()
        // Adopted before the command starts (a daemon the reload command left): not the migration's.
        let adoptedBefore = Set(Subreaper.descendants().map(\.identity))
        log.say("migration attempt \(number) starts (application_name \(applicationName))")
        let watching = Task { [state] in await monitor.watch(processGroup: { state.processGroup.withLock { $0 }?.pid })
        }
        let status = await runCommand()
        watching.cancel()
        await watching.value
        let outlived = await settleLeftovers(adoptedBefore: adoptedBefore)
        attempt.finishedAt = Date()
        attempt.exitStatus = status
        report.attempts.append(attempt)
        report.lockWaits += monitor.records
        report.lockHolds += monitor.holds.records
        report.warnings += monitor.warnings
        let result = AttemptResult(
            status: status,
            stoppedBy: monitor.abort,
            waitEndedUngranted: waitEndedUngranted(monitor.records, status: status),
            outlived: outlived,
            interrupted: state.isInterrupted
        )
        log.say(
            "migration attempt \(number) exited with status \(status) after \(DurationSyntax.format(seconds: attempt.finishedAt!.timeIntervalSince(attempt.startedAt)))"
                + (result.stoppedBy.map { " (\($0.rawValue))" }
                    ?? (result.waitEndedUngranted ? " (a lock wait ended without its lock)" : ""))
        )
        FailPoint.hit("upgrade.migrated")
        return result
    }

    /// Whether a lock wait of the attempt ended without PostgreSQL granting the lock: seen so, or (under
    /// `--lock-timeout`, the command failed) its end not seen before the command exited.
    private func waitEndedUngranted(_ records: [RunReport.LockWaitRecord], status: Int32) -> Bool {
        records.contains { $0.granted == false }
            || (settings.lockTimeout != nil && status != 0
                && records.contains { $0.granted == nil && !$0.blockers.isEmpty })
    }

    /// Runs the command as a process group of its own; its status (127 when it could not be started).
    private func runCommand() async -> Int32 {
        let process = MigrationProcess(command: settings.command, environment: migrationEnvironment, log: log)
        defer { state.processGroup.withLock { $0 = nil } }
        do {
            return try await process.run { [state, journal, log] pid in
                let identity = ProcessIdentity.current(pid) ?? ProcessIdentity(pid: pid, startTime: 0)
                state.processGroup.withLock { $0 = identity }
                journal.update {
                    $0.migrationPID = pid
                    $0.migrationStartTime = identity.startTime
                }
                if state.isInterrupted { Supervisor.stopMigrationGroup(identity, log: log) }
            }
        } catch {
            log.warn(error.summary)
            return 127
        }
    }

    /// Says once that nothing will act on a lock wait of the migration, when so.
    private func warnIfNothingActs() {
        guard !interactive, policy == nil, settings.maxLockWait == nil else { return }
        log.warn(
            "nothing will act on a lock wait of the migration: no --policy, no --max-lock-wait, not interactive;"
                + " a blocked migration waits until its blocker ends"
                + (settings.lockTimeout.map {
                    " or lock_timeout (\(DurationSyntax.format(seconds: $0.seconds))) ends it"
                } ?? "")
        )
    }

    /// After the command: the run's processes (its daemonised children among them) and sessions that
    /// outlived it get a grace, then are stopped and terminated, and checked gone. Returns a line for
    /// each that outlived it (then the run cannot end `succeeded`).
    private func settleLeftovers(adoptedBefore: Set<ProcessIdentity>) async -> [String] {
        var leftovers = RunLeftovers(
            applicationName: applicationName,
            connectionString: settings.connectionString,
            logger: logger
        )
        leftovers.adoptsDescendants = true
        leftovers.adoptedBefore = adoptedBefore
        let outcome = await leftovers.settle(grace: Self.leftoverGrace, interrupted: { [state] in state.isInterrupted })
        var warnings = outcome.stoppedProcesses.map { "a process of the migration outlived its command: stopped \($0)" }
        warnings += outcome.terminatedSessions.map {
            "a session of the migration outlived its command: terminated \($0)"
        }
        if !outcome.remaining.isEmpty {
            warnings.append("sessions of the run are still there: pids \(outcome.remaining)")
        }
        warnings.forEach(log.warn)
        report.warnings += warnings
        if let failure = outcome.checkFailed {
            log.warn(failure)
            report.warnings.append(failure)
        }
        return warnings
    }
}
