import Enforcement
import Forecast
import FoundationEssentials
import LockInspection
import Logging
import PGWardenSQL
import Policy
import Postgres
import Processes
import Reload
import WardenSupport
import Workers

#if canImport(Glibc)
    import Glibc
#endif

/// The effects of one run: performs each ``RunMachine/Action`` and says what came of it as an event.
/// Confined to the run's task.
final class RunExecution {
    let supervisor: Supervisor
    var report: RunReport
    let preflight: Supervisor.Preflight
    let policy: Policy?
    let preflightActions: PreflightActions
    let journal: RunJournalStore
    let lock: StateLock
    let state: Supervisor.RunState
    let interactive: Bool
    /// The forecast's estimates by statement, for the progress of a lock the migration holds.
    var estimates: [String: SecondsEstimate] = [:]
    /// The pause this run made, kept from its journal's first write: resumed whatever becomes of the state directory.
    var pause: PauseRecord?
    /// The attempts' monitors share one prompt and one audit for the whole run.
    lazy var prompt: OperatorPrompt? = interactive ? OperatorPrompt() : nil
    lazy var audit: [any AuditSink] = openAuditLogs()
    /// Failures of the run's own state (a journal lost), beside the journal store's own.
    var lostState: [String] = []
    /// Failures of the run's own state already handed to the machine.
    private var stateFailuresSaid: Set<String> = []
    /// The run's worker sets: paused in order, all or nothing; resumed in reverse on every path; hosts several at once.
    lazy var sets = WorkerSetsMachine(
        names: settings.effectiveWorkerSets.enumerated().map(Self.setName),
        overlapping: settings.effectiveWorkerSets.indices.map { settings.fleet.host(ofSet: $0) != nil },
        limit: settings.fleet.parallelHosts
    )

    /// ``UpgradeSettings/primaryCrontabSet``, read once: a scan of every set, asked at every set's step.
    lazy var primarySet: Int? = settings.primaryCrontabSet

    var settings: UpgradeSettings { supervisor.settings }
    var log: RunLog { supervisor.log }
    var logger: Logger { supervisor.logger }
    /// The run's id (kept apart from the report, which a step holds for writing while its body runs).
    let runID: String
    var owner: String { "pgwarden upgrade \(runID)" }

    /// The run's `application_name`, also its processes' `PGAPPNAME`.
    static func applicationName(_ runID: String) -> String { "pgwarden-migration-\(runID)" }
    var applicationName: String { Self.applicationName(runID) }

    init(
        supervisor: Supervisor,
        report: RunReport,
        preflight: Supervisor.Preflight,
        policy: Policy?,
        preflightActions: PreflightActions,
        journal: RunJournalStore,
        lock: StateLock,
        state: Supervisor.RunState,
        interactive: Bool
    ) {
        self.supervisor = supervisor
        self.report = report
        runID = report.runID
        self.preflight = preflight
        self.policy = policy
        self.preflightActions = preflightActions
        self.journal = journal
        self.lock = lock
        self.state = state
        self.interactive = interactive
    }

    /// What the run will do around the command.
    var plan: RunMachine.Plan {
        let servers = settings.effectiveAppServers
        return RunMachine.Plan(
            pausesWorkers: !settings.effectiveWorkerSets.isEmpty,
            reloadBefore: servers.contains { $0.when == .before },
            reloadAfter: servers.contains { $0.when == .after },
            preflightActions: !preflightActions.decision.actions.isEmpty,
            retries: settings.retries,
            lockTimeout: settings.lockTimeout != nil
        )
    }

    /// Performs `action`; returns what came of it.
    func perform(_ action: RunMachine.Action) async -> RunMachine.Event {
        switch action {
        case .pauseWorkers: return await pauseWorkers()
        case .reload(let time): return await reload(time)
        case .carryOutPreflight:
            report.preflightActions = await preflightActions.carryOut(
                connectionString: settings.connectionString,
                serverVersion: report.serverVersion,
                audit: audit,
                log: log,
                logger: logger
            )
            return .preflightCarriedOut
        case .runAttempt(let number): return .attemptEnded(await runAttempt(number))
        case .waitBeforeRetry:
            log.say(
                "retrying in \(DurationSyntax.format(seconds: settings.retryDelay.seconds)) (--retries \(settings.retries))"
            )
            await Supervisor.sleep(for: settings.retryDelay, unless: state)
            return .retryWaitEnded
        case .skipReloadAfter(let reason):
            log.warn(reason)
            return .reloadAfterSkipped
        case .resumeWorkers: return await resumeWorkers()
        case .postChecks:
            await postChecks()
            return .checked
        case .finish: return .checked
        }
    }

    /// The journal's and the run log's failed writes not yet handed to the machine.
    func takeStateFailures() -> [String] {
        (lostState + supervisor.writeFailures(journal: journal)).filter { stateFailuresSaid.insert($0).inserted }
    }

    /// Releases the state directory and closes the run log.
    func close() {
        log.close()
        lock.release()
    }

    // MARK: - Workers

    func workerPause(in directory: StateDirectory? = nil) -> WorkerPause {
        WorkerPause(stateDirectory: directory ?? supervisor.stateDirectory, logger: logger)
    }
}
