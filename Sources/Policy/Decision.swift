import WaitGraph

/// What the policy decided about one blocker in one poll.
public struct Decision: Sendable {
    /// What becomes of the action.
    public enum Disposition: Sendable, Equatable {
        /// Send it.
        case execute
        /// Do not send it: the policy (or `--dry-run`) says dry run.
        case dryRun
        /// Never: the blocker is protected; the reason says by what.
        case protected(reason: String)
        /// Not now: `max_actions_per_minute` is reached.
        case rateLimited
    }

    /// The rule that matched.
    public let rule: String
    /// What it asks for.
    public let action: PolicyAction
    /// What becomes of it.
    public let disposition: Disposition
    /// Whether this is a cancel escalated to terminate by `escalate_after`.
    public let isEscalation: Bool
    /// The blocker.
    public let blocker: Blocker
    /// The sessions it blocks directly, with their waits.
    public let waiters: [LockWait]
}
