/// pgwarden's exit statuses, defined once; the man page's EXIT STATUS lists the same.
package enum ExitStatus {
    /// The command did what it was asked.
    package static let success: Int32 = 0
    /// Bad input, or a runtime failure reported on one `error:` line.
    package static let failure: Int32 = 1
    /// `status`: the last run did not succeed (failed, aborted, interrupted, recovered, supervisor-failed).
    package static let lastRunDidNotSucceed: Int32 = 2
    /// `status`, `recover`: something needs `recover` — a run whose supervisor died, workers left paused under a
    /// migration that still runs, pauses found under another state directory.
    package static let needsRecovery: Int32 = 3
    /// A usage error found by the argument parser (an unknown option, a missing value).
    package static let usage: Int32 = 64
    /// `upgrade`: the supervisor itself failed (its state, the workers, the database); `EX_SOFTWARE`.
    package static let supervisorFailure: Int32 = 70
    /// `upgrade`: the migration was aborted over a lock wait (`--max-lock-wait`, a policy's abort,
    /// or the operator's answer), as distinct from a migration that failed; `EX_TEMPFAIL`: try again later.
    package static let lockWaitAbort: Int32 = 75

    /// Ended by signal `number` (SIGINT, SIGTERM, SIGHUP where it ends the command): 128 + N, as a shell reports it.
    package static func signalled(_ number: Int32) -> Int32 {
        128 + number
    }
}
