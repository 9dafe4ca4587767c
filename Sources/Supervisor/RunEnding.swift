import WardenSupport

/// Why the migration's statement was stopped over a lock wait, when it was.
package enum LockWaitAbort: String, Sendable, Hashable {
    /// `--max-lock-wait` cancelled the waiting statement.
    case maxLockWait = "max-lock-wait"
    /// The operator answered `a`.
    case operatorRequest = "operator"
    /// The migration's own `lock_timeout` (`--lock-timeout`) ended the wait.
    case lockTimeout = "lock timeout"
    /// Another session (a guard, a person in psql) cancelled or terminated the waiting statement.
    case elsewhere = "cancelled by another session"
}

/// How the migration itself ended: the one value the run's outcome and exit status follow from,
/// with the supervisor's own failures beside it (``RunConclusion``).
package enum RunEnding: Sendable, Hashable {
    /// The command exited 0, and no statement of it was stopped over a lock wait.
    case succeeded
    /// The command failed by itself, with this (non-zero) status.
    case commandFailed(status: Int32)
    /// A statement of the migration was stopped over a lock wait (the command's status beside it).
    case abortedOverLockWait(LockWaitAbort, status: Int32)
    /// SIGINT or SIGTERM stopped the run.
    case interrupted(signal: Int32)
    /// The command never ran: a step before it (named) failed.
    case notRun(step: String)
}

/// The end of a run, as the report, the journal and the exit status give it.
package struct RunConclusion: Sendable, Hashable {
    /// How the migration ended.
    package let ending: RunEnding
    /// What pgwarden itself failed to do (workers not resumed, a journal lost, a session that outlived
    /// the command…), in order.
    package let supervisorFailures: [String]

    /// The report's `outcome`.
    package var outcome: RunReport.Outcome {
        switch ending {
        case .interrupted: .interrupted
        case .abortedOverLockWait: .aborted
        case .commandFailed, .notRun: .failed
        case .succeeded: supervisorFailures.isEmpty ? .succeeded : .supervisorFailed
        }
    }

    /// The exit status: the command's own, 75 for an abort over a lock wait, 128+N after signal N,
    /// 70 when pgwarden itself failed and the command had not.
    package var exitStatus: Int32 {
        switch ending {
        case .interrupted(let signal): ExitStatus.signalled(signal)
        case .abortedOverLockWait: ExitStatus.lockWaitAbort
        case .commandFailed(let status): status
        case .notRun: ExitStatus.supervisorFailure
        case .succeeded: supervisorFailures.isEmpty ? ExitStatus.success : ExitStatus.supervisorFailure
        }
    }
}

/// What one run of the command came to, as the effects saw it.
package struct AttemptResult: Sendable, Equatable {
    /// The command's exit status (128+N when a signal ended it).
    package var status: Int32
    /// The monitor stopped the migration's statement (`--max-lock-wait`, the operator), and that reached it.
    package var stoppedBy: LockWaitAbort?
    /// A lock wait of the migration ended without PostgreSQL granting the lock (the statement was
    /// cancelled, timed out or failed while waiting).
    package var waitEndedUngranted = false
    /// Processes or sessions of the run outlived the command (they were stopped).
    package var outlived: [String] = []
    /// SIGINT or SIGTERM came while it ran.
    package var interrupted = false

    /// Creates a result.
    package init(
        status: Int32,
        stoppedBy: LockWaitAbort? = nil,
        waitEndedUngranted: Bool = false,
        outlived: [String] = [],
        interrupted: Bool = false
    ) {
        self.status = status
        self.stoppedBy = stoppedBy
        self.waitEndedUngranted = waitEndedUngranted
        self.outlived = outlived
        self.interrupted = interrupted
    }
}
