import WaitGraph

extension Rule {
    /// Whether `wait` counts for this rule's `blocking_for` (its `waiter_application_name`, if any, matches).
    package func counts(_ wait: LockWait) -> Bool {
        waiterApplicationName.map { $0.matches(wait.activity.applicationName ?? "") } ?? true
    }

    /// Whether the rule depends on the blocker's transaction or state: then a commit, a new
    /// transaction or a change of state since the snapshot must stop its signal.
    package var judgesTransaction: Bool {
        states != nil || minTransactionAge != nil || query != nil
    }

    /// Whether the rule matches `blocker`, whose direct waiters are `waiters`.
    package func matches(_ blocker: Blocker, waiters: [LockWait]) -> Bool {
        guard let longest = waiters.filter(counts).map(\.waitingSeconds).max(), longest >= blockingFor.seconds else {
            return false
        }
        let activity = blocker.activity
        if let states, !states.contains(activity?.state ?? "") { return false }
        if let users, !users.contains(activity?.usename ?? "") { return false }
        if let applicationName, !applicationName.matches(activity?.applicationName ?? "") { return false }
        if let databases, !databases.contains(activity?.datname ?? "") { return false }
        if let query, !query.matches(activity?.query ?? "") { return false }
        if let minTransactionAge, (activity?.xactSeconds ?? -1) < minTransactionAge.seconds { return false }
        return true
    }
}
