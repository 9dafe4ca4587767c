import FoundationEssentials
import LockInspection
import Logging
import PGWardenSQL
import Policy
import Postgres
import Processes
import Reload
import WaitGraph
import WardenSupport
import Workers

#if canImport(Glibc)
    import Glibc
#endif

/// Everything before the first change: preflight, the forecast, `[preflight]`'s judgement, the plan; then the
/// state directory's lock, the run log and the journal.
extension Supervisor {
    /// Checks everything and opens the run; `nil` after a dry run, which changes nothing.
    ///
    /// - Throws: ``OperatorError`` (`supervisor`) for a failure before anything changed.
    func prepare(interactiveDefault: Bool, state: RunState) async throws -> RunExecution? {
        let runID = RunIdentifier.make(at: Date())
        var report = RunReport(runID: runID, command: settings.command, startedAt: Date())
        let policy = try settings.policyPath.map { path throws in try Policy(contentsOf: path) }
        log.say("run \(runID): \(ShellQuoting.command(settings.command.map(Redaction.redact)))")
        let preflight = try await Self.step("preflight", &report, log: log) { try await self.preflight() }
        report.alembicBefore = preflight.alembicVersion
        report.djangoBefore = preflight.djangoMigrations
        report.serverVersion = preflight.role.serverVersionText
        let forecast = try await UpgradeForecast.run(settings, log: log, logger: logger)
        report.forecast = forecast?.json
        let preflightActions = try PreflightActions(
            forecast: forecast,
            policy: policy,
            dryRun: settings.dryRun,
            log: log
        )
        report.warnings += preflightActions.warnings
        if settings.dryRun {
            printPlan(preflight, applicationName: RunExecution.applicationName(runID))
            return nil
        }
        let (lock, journal) = try openRun(runID, startedAt: report.startedAt)
        FailPoint.hit("upgrade.journaled")
        let execution = RunExecution(
            supervisor: self,
            report: report,
            preflight: preflight,
            policy: policy,
            preflightActions: preflightActions,
            journal: journal,
            lock: lock,
            state: state,
            interactive: settings.interactive ?? interactiveDefault
        )
        execution.estimates = MigrationProgress.estimates(of: forecast)
        return execution
    }

    /// The state directory's lock, the run log and the journal: a run that cannot have them does not start.
    private func openRun(_ runID: String, startedAt: Date) throws -> (StateLock, RunJournalStore) {
        do { try stateDirectory.prepare() } catch { throw OperatorError(.supervisor, error.summary, hint: error.hint) }
        let lock: StateLock
        do {
            lock = try stateDirectory.lock(named: "upgrade.lock")
        } catch {
            throw OperatorError(.supervisor, error.summary, hint: error.hint)
        }
        do {
            let logPath = stateDirectory.path + "/upgrade-\(runID).log"
            do { try log.keep(in: logPath) } catch { throw OperatorError(.supervisor, error.summary, hint: error.hint) }
            log.say("run log: \(logPath)")
            let journal = RunJournalStore(
                RunJournal(
                    runID: runID,
                    command: settings.command.map(Redaction.redact),
                    startedAt: startedAt,
                    phase: .started,
                    supervisorPID: getpid(),
                    supervisorStartTime: ProcessIdentity.current(getpid())?.startTime,
                    stateDirectory: stateDirectory.path
                ),
                directory: stateDirectory,
                log: log
            )
            try journal.create()
            return (lock, journal)
        } catch {
            log.close()
            lock.release()
            throw error
        }
    }

    /// Runs one step of the run, recorded in the report (its name, times, whether it went well).
    static func step<Result>(
        _ name: String,
        _ report: inout RunReport,
        log: RunLog,
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
            record.detail = describe(error)
            report.steps.append(record)
            throw error
        }
    }

    struct Preflight: Sendable {
        var role: SessionRole
        var blockers: LockSnapshot
        var crontabUser: String
        var crontabLines: [CrontabPause.PausedLine] = []
        var runningWorkers: [String] = []
        /// What each worker set but the first crontab one would have done to it, by index.
        var setPlans: [Int: [String]] = [:]
        var alembicVersion: String?
        var djangoMigrations: DjangoMigrations?
        var invalidIndexes: [String]
    }

    func preflight() async throws -> Preflight {
        if let running = try RunJournal.load(RunJournal.fileName, from: stateDirectory), !running.supervisorIsRunning {
            throw OperatorError(
                .supervisor,
                "run \(running.runID) did not finish (its supervisor, pid \(running.supervisorPID), is gone)",
                hint: "pgwarden recover --state-dir \(ShellQuoting.quote(stateDirectory.path))"
            )
        }
        // The migration's connection is handed on, never used here: a --migration-dsn libpq cannot read would
        // otherwise be dropped without a word, and the migration would connect wherever its environment says.
        if let dsn = settings.migrationConnectionString {
            do {
                _ = try ConnectionEnvironment.variables(for: dsn)
            } catch {
                throw OperatorError(
                    .supervisor,
                    "--migration-dsn is not a connection string libpq reads: \(error.message)"
                )
            }
        }
        guard let program = settings.command.first else {
            throw OperatorError(.supervisor, "no command: give it after --")
        }
        if !program.contains("/"), await Self.resolve(program) == nil {
            throw OperatorError(.supervisor, "command not found: \(program)", hint: "give its path, or fix PATH")
        }
        if program.contains("/"), access(program, X_OK) != 0 {
            throw OperatorError(.supervisor, "\(program) is not an executable file")
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
            alembicVersion: try await alembicVersion(on: connection, role: role.role),
            djangoMigrations: try await djangoMigrations(on: connection, role: role.role),
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
        let hosts = await preflightHosts()
        result.setPlans = try await planSets(hosts)
        for (index, (server, _)) in settings.effectiveAppServers.enumerated() {
            do {
                if try hosts.checkAppServer(index) { continue }
            } catch {
                throw OperatorError(.reload, "app server \(server.name): \(Self.describe(error))")
            }
            _ = try await UWSGIReload(strategy: server.strategy, timeout: settings.reloadTimeout, logger: logger)
                .preflight()
        }
        try checkHostNames(hosts)
        return result
    }

    /// `alembic_version`, as the role can read it: a role without `SELECT` on the table (the least-privilege
    /// `pgwarden`) gets a warning with the grant, and the run goes on without the check.
    func alembicVersion(on connection: Connection, role: String) async throws -> String? {
        let result: QueryResult
        do {
            result = try await InspectorSession.queryOnRoleSearchPath(Queries.alembicVersion, on: connection)
        } catch {
            guard error.sqlState == PostgresError.SQLState.insufficientPrivilege else { throw error }
            log.warn(
                "role \(role) may not read alembic_version, so it is not checked before and after the run"
                    + " (GRANT SELECT ON alembic_version TO \(role) lets it)"
            )
            return nil
        }
        return try result.rows.first?.decode(String.self, "version")
    }

    func printPlan(_ preflight: Preflight, applicationName: String) {
        log.say("dry run: nothing will be changed. The plan:")
        if settings.primaryCrontabSet == nil {
            if settings.effectiveWorkerSets.isEmpty { log.say("  workers: none paused") }
        } else {
            log.say(
                "  pause \(Plural.count(preflight.crontabLines.count, "crontab line", "crontab lines")) of \(preflight.crontabUser):"
            )
            preflight.crontabLines.forEach { log.say("    line \($0.number): \(Redaction.redact($0.line))") }
            log.say(
                "  running workers (--stop-workers \(settings.stopWorkers.rawValue)): \(preflight.runningWorkers.isEmpty ? "none" : preflight.runningWorkers.joined(separator: "; "))"
            )
        }
        printSetPlans(preflight)
        if settings.appServers.isEmpty {
            log.say(
                "  reload \(settings.reloadStrategy?.appServer ?? "uWSGI"): \(settings.effectiveReloadWhen.rawValue)"
            )
        } else {
            for (server, when) in settings.effectiveAppServers {
                let place = server.host.map { " on \(TerminalText.safe($0)) (its pgwarden reload, through ssh)" } ?? ""
                log.say("  reload \(server.name)\(place) (\(Self.describe(server.strategy))): \(when.rawValue)")
            }
        }
        log.say(
            "  run: \(ShellQuoting.command(settings.command.map(Redaction.redact))) (application_name \(applicationName))"
        )
        // Who blocks others now is not who the migration will wait on (the forecast above says that): one
        // answer to each question, never "none" beside a forecast's "will wait on".
        let roots = preflight.blockers.roots.map {
            "pid \($0.pid) (\($0.activity?.state ?? "?"), blocks \($0.blockedTotal))"
        }
        log.say(
            "  sessions blocking others right now: \(roots.isEmpty ? "none" : roots.joined(separator: ", "))"
                + (roots.isEmpty ? " (who the migration would wait on: the forecast above)" : "")
        )
        log.say("  alembic_version: \(preflight.alembicVersion ?? "(no alembic_version table)")")
        if let django = preflight.djangoMigrations {
            let latest = django.latest.map { "\($0.app) \($0.name)" }
            log.say("  django_migrations: \(latest.isEmpty ? "empty" : latest.joined(separator: ", "))")
        }
    }
}
