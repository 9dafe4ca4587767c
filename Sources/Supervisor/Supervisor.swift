import FoundationEssentials
import Logging
import Postgres
import Processes
import Subprocess
import Synchronization
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `pgwarden upgrade`: the runbook as one command — preflight, journal, pause workers,
/// reload, the migration (watched and unblocked), reload, resume workers (always), post-checks, report.
///
/// The run's steps and how it ends are decided by ``RunMachine`` (pure); ``run(interactiveDefault:)``
/// performs what it asks for, one action at a time, through ``RunExecution``.
package struct Supervisor: Sendable {
    /// Exit status when pgwarden itself failed after the command ran (a resume that failed, say).
    package static let supervisorFailureStatus: Int32 = ExitStatus.supervisorFailure

    let settings: UpgradeSettings
    let log: RunLog
    let logger: Logger
    let stateDirectory: StateDirectory

    /// Creates a supervisor.
    package init(settings: UpgradeSettings, log: RunLog = RunLog(), logger: Logger) {
        self.settings = settings
        self.log = log
        self.logger = RunLogHandler.logger(logger, keepingIn: log)
        stateDirectory = StateDirectory(path: settings.stateDirectory)
    }

    /// Everything a run shares between its steps and its signal handler.
    final class RunState: Sendable {
        let processGroup = Mutex<ProcessIdentity?>(nil)
        let interruptedBy = Mutex<Int32?>(nil)
        /// Ends the wait in progress (a reload's) at once on SIGINT/SIGTERM.
        let cancelWait = Mutex<(@Sendable () -> Void)?>(nil)

        var isInterrupted: Bool { interruptedBy.withLock { $0 } != nil }
        var signal: Int32? { interruptedBy.withLock { $0 } }
    }

    /// Runs the whole thing and returns the exit status.
    ///
    /// - Throws: only for failures before anything changed (preflight), as one clear error.
    package func run(interactiveDefault: Bool) async throws -> Int32 {
        // From the first step on: a SIGHUP (an SSH drop) must never end the run half-way,
        // and a SIGINT or SIGTERM is carried out between steps.
        let state = RunState()
        let monitor = SignalMonitor([SIGHUP, SIGINT, SIGTERM]) { [log] signal in
            Self.handle(signal, state: state, log: log)
        }
        defer { monitor.cancel() }
        // A descendant of the migration that daemonises becomes pgwarden's child: found and settled before the end.
        if !Subreaper.become() { log.warn("cannot become the migration's subreaper: a daemonised child may escape") }
        guard let execution = try await prepare(interactiveDefault: interactiveDefault, state: state) else { return 0 }
        defer { execution.close() }
        var machine = RunMachine(plan: execution.plan)
        while true {
            // Before each action, the first included: a SIGINT during preflight or the forecast stops the run
            // before anything is paused or run.
            if let signal = state.signal { machine.receive(.interrupted(signal: signal)) }
            let action = machine.next()
            if case .finish(let conclusion) = action {
                return execution.finish(conclusion, attemptEndings: machine.attemptEndings)
            }
            machine.receive(await execution.perform(action))
            execution.takeStateFailures().forEach { machine.receive(.stateLost($0)) }
        }
    }

    /// SIGHUP is said and ignored; SIGINT/SIGTERM end the wait in progress and stop the migration's group.
    private static func handle(_ signal: Int32, state: RunState, log: RunLog) {
        if signal == SIGHUP {
            log.say("SIGHUP ignored: the run goes on (an SSH drop does not stop pgwarden)")
            return
        }
        state.interruptedBy.withLock { $0 = $0 ?? signal }
        log.warn("interrupted (signal \(signal)): stopping the migration, then restoring the workers")
        state.cancelWait.withLock { $0?() }
        if let group = state.processGroup.withLock({ $0 }) { stopMigrationGroup(group, log: log) }
    }

    /// How long the migration's process group has after SIGTERM before SIGKILL.
    static let migrationGrace = Duration.seconds(10)

    /// SIGTERM to the migration's process group, SIGKILL after ``migrationGrace`` to what is left.
    static func stopMigrationGroup(_ group: ProcessIdentity, log: RunLog) {
        Task {
            let result = await ProcessStopper.stop([.group(group)], grace: migrationGrace)
            if result[.group(group)] == .killed {
                log.warn("the migration's process group \(group.pid) outlived SIGTERM by \(migrationGrace): SIGKILL")
            }
        }
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
