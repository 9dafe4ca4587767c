/// The run of `pgwarden upgrade` as a pure state machine: events in, actions out, no I/O.
///
/// The supervisor asks ``next()`` for what to do, performs it, and tells the machine what came of it
/// with ``receive(_:)``; a SIGINT or SIGTERM is one more event. Every path goes through
/// ``Action/resumeWorkers`` (when workers may be paused) and ends with ``Action/finish(_:)``, whose
/// ``RunConclusion`` gives the outcome and exit status.
package struct RunMachine: Sendable {
    /// What the run was asked to do around the command.
    package struct Plan: Sendable, Equatable {
        package var pausesWorkers = false
        package var reloadBefore = false
        package var reloadAfter = false
        /// `[preflight]` decided to act before the migration starts.
        package var preflightActions = false
        /// `--retries`.
        package var retries = 0
        /// `--lock-timeout` was handed to the migration.
        package var lockTimeout = false

        package init(
            pausesWorkers: Bool = false,
            reloadBefore: Bool = false,
            reloadAfter: Bool = false,
            preflightActions: Bool = false,
            retries: Int = 0,
            lockTimeout: Bool = false
        ) {
            self.pausesWorkers = pausesWorkers
            self.reloadBefore = reloadBefore
            self.reloadAfter = reloadAfter
            self.preflightActions = preflightActions
            self.retries = retries
            self.lockTimeout = lockTimeout
        }
    }

    /// When an app server is reloaded.
    package enum ReloadTime: String, Sendable, Equatable {
        case before, after
    }

    /// What the supervisor is to do next.
    package enum Action: Sendable, Hashable {
        case pauseWorkers
        case reload(ReloadTime)
        case carryOutPreflight
        /// Runs the command; attempts count from 1.
        case runAttempt(Int)
        case waitBeforeRetry
        /// Says that the reload after is skipped, and why; then goes on.
        case skipReloadAfter(reason: String)
        case resumeWorkers
        case postChecks
        case finish(RunConclusion)
    }

    /// What happened.
    package enum Event: Sendable, Equatable {
        case paused
        case pauseFailed(String)
        case reloaded(ReloadTime)
        case reloadFailed(ReloadTime, String)
        case preflightCarriedOut
        case attemptEnded(AttemptResult)
        case retryWaitEnded
        case reloadAfterSkipped
        case resumed
        case resumeFailed(String)
        case checked
        /// A write of the run's own state failed (the journal, the run log): never `succeeded`.
        case stateLost(String)
        case interrupted(signal: Int32)
    }

    enum Phase: Sendable, Equatable {
        case pausing, reloadingBefore, preflight
        case attempting(Int)
        case waitingToRetry(next: Int)
        case reloadingAfter
        case resuming, checking, finished
    }

    private(set) var phase: Phase
    private(set) var ending: RunEnding?
    private(set) var signal: Int32?
    private(set) var failures: [String] = []
    /// Why each attempt ended early, when it did (the report's `ended_by`), in order.
    private(set) var attemptEndings: [String?] = []
    /// Whether any action has been performed (an interrupt before the first ends the run at once).
    private var hasActed = false
    /// Whether workers may be paused now: resumed on every path from the pause on.
    private(set) var workersMayBePaused = false
    let plan: Plan

    package init(plan: Plan) {
        self.plan = plan
        phase = .pausing
        phase = plannedPhase(from: 0)
    }

    /// What to do now.
    package func next() -> Action {
        switch phase {
        case .pausing: .pauseWorkers
        case .reloadingBefore: .reload(.before)
        case .preflight: .carryOutPreflight
        case .attempting(let number): .runAttempt(number)
        case .waitingToRetry: .waitBeforeRetry
        case .reloadingAfter:
            ending == .succeeded
                ? .reload(.after) : .skipReloadAfter(reason: "not reloading after a migration that did not succeed")
        case .resuming: .resumeWorkers
        case .checking: .postChecks
        case .finished:
            .finish(
                RunConclusion(
                    ending: signal.map { .interrupted(signal: $0) } ?? ending ?? .notRun(step: "the run"),
                    supervisorFailures: failures
                )
            )
        }
    }

    /// Takes in what happened.
    package mutating func receive(_ event: Event) {
        switch event {
        case .interrupted, .stateLost: break
        default: hasActed = true
        }
        switch event {
        case .paused:
            workersMayBePaused = true
            phase = plannedPhase(from: 1)
        case .pauseFailed(let reason):
            // A pause that failed half-way may have changed the crontab: resumed all the same.
            workersMayBePaused = true
            fail(reason, notRun: "pause workers")
        case .reloaded(.before):
            phase = plannedPhase(from: 2)
        case .reloadFailed(.before, let reason):
            fail(reason, notRun: "reload before")
        case .preflightCarriedOut:
            phase = .attempting(1)
        case .attemptEnded(let result):
            attemptEnded(result)
        case .retryWaitEnded:
            if case .waitingToRetry(let number) = phase { phase = .attempting(number) }
        case .reloaded(.after), .reloadAfterSkipped:
            phase = resumingPhase
        case .reloadFailed(.after, let reason):
            failures.append(reason)
            phase = resumingPhase
        case .resumed:
            workersMayBePaused = false
            phase = .checking
        case .resumeFailed(let reason):
            failures.append(reason)
            phase = .checking
        case .checked:
            phase = .finished
        case .stateLost(let reason):
            failures.append(reason)
        case .interrupted(let number):
            signal = signal ?? number
            // Before the first action (nothing paused, reloaded or run): nothing to undo, nothing to check.
            if !hasActed {
                phase = .finished
            } else if isBeforeResume {
                phase = resumingPhase
            }
        }
    }

    /// The first step of the plan from `step` on (0 pause, 1 reload before, 2 preflight actions, 3 the command).
    private func plannedPhase(from step: Int) -> Phase {
        if step <= 0, plan.pausesWorkers { return .pausing }
        if step <= 1, plan.reloadBefore { return .reloadingBefore }
        if step <= 2, plan.preflightActions { return .preflight }
        return .attempting(1)
    }

    private mutating func attemptEnded(_ result: AttemptResult) {
        guard case .attempting(let number) = phase else { return }
        let cause = abortCause(of: result)
        attemptEndings.append(
            result.interrupted
                ? "interrupted"
                : cause?.rawValue ?? (result.outlived.isEmpty ? nil : "outlived by its processes or sessions")
        )
        failures += result.outlived
        if !result.interrupted, let cause, [.lockTimeout, .maxLockWait].contains(cause), result.status != 0,
            number <= plan.retries
        {
            phase = .waitingToRetry(next: number + 1)
            return
        }
        ending =
            if let cause { .abortedOverLockWait(cause, status: result.status) } else if result.status != 0 {
                .commandFailed(status: result.status)
            } else { .succeeded }
        phase = plan.reloadAfter && signal == nil ? .reloadingAfter : resumingPhase
    }

    /// Why a statement of the attempt was stopped over a lock wait, if one was.
    private func abortCause(of result: AttemptResult) -> LockWaitAbort? {
        if let stopped = result.stoppedBy { return stopped }
        guard result.waitEndedUngranted else { return nil }
        // A wait that ended without its lock, with no one of this run stopping it: lock_timeout when the run set
        // one; otherwise someone else cancelled it. Either way the command may have swallowed the error.
        return plan.lockTimeout ? .lockTimeout : .elsewhere
    }

    private mutating func fail(_ reason: String, notRun step: String) {
        failures.append(reason)
        ending = .notRun(step: step)
        phase = resumingPhase
    }

    private var resumingPhase: Phase { workersMayBePaused || plan.pausesWorkers ? .resuming : .checking }

    private var isBeforeResume: Bool {
        switch phase {
        case .pausing, .reloadingBefore, .preflight, .attempting, .waitingToRetry, .reloadingAfter: true
        case .resuming, .checking, .finished: false
        }
    }
}
