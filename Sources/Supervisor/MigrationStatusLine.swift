import Policy
import WaitGraph
import WardenSupport

/// The live status line of a supervised migration on a terminal: elapsed time, attempt, the
/// current lock wait and its blockers, the queue behind it against `--request-timeout`, and what
/// will happen next. Pure: the monitor passes what it knows.
struct MigrationStatusLine: Sendable {
    var attempt: Int
    var elapsedSeconds: Double
    /// The migration's longest current wait, if it waits.
    var wait: LockWait?
    /// The blockers of that wait, as the snapshot shows them.
    var blockers: [Blocker]
    /// While it does not wait: the lock of the migration's with the longest queue behind it, if any.
    var hold: RunReport.LockHoldRecord? = nil
    /// The sessions queued behind the migration, and the oldest wait among them.
    var queued: Int
    var queuedOldestSeconds: Double
    var requestTimeout: Duration?
    var policy: Policy?
    var maxLockWait: Duration?
    var askingOperator: Bool
    var interactive: Bool
    /// While it holds: the progress of its statement (``MigrationProgress/text``).
    var progress: String? = nil

    /// One line while nothing waits; three while the migration waits (the log cuts each to the
    /// terminal's width, so what matters most comes first on each).
    var text: String {
        let head = "attempt \(attempt), \(DurationSyntax.format(seconds: elapsedSeconds))"
        guard let wait else {
            guard let hold else { return head + ": running, no lock wait" }
            // The outage of a lock the migration holds: who queues behind it, against the request timeout.
            return head
                + ": holds \(hold.mode ?? "a lock") on \(hold.relation), blocking others for \(DurationSyntax.format(seconds: hold.to.timeIntervalSince(hold.from)))"
                + "\n  " + queueText + (progress.map { " | " + $0 } ?? "")
        }
        let first =
            head + ": waits \(DurationSyntax.format(seconds: wait.waitingSeconds)) for \(wait.lock.mode)"
            + (wait.lock.relation.map { " on \($0)" } ?? "")
        var parts: [String] = []
        let named = blockers.map { blocker in
            blocker.pid == 0
                ? "prepared transaction " + blocker.preparedGIDs.map { "'\($0)'" }.joined(separator: ", ")
                : "pid \(blocker.pid)" + (blocker.activity?.state.map { " \($0)" } ?? "")
        }
        parts.append(
            "blocked by " + (named.isEmpty ? wait.blockedBy.map { "pid \($0)" } : named).joined(separator: ", ")
        )
        if queued > 0 { parts.append(queueText) }
        return first + "\n  " + parts.joined(separator: " | ") + "\n  next: " + next(wait)
    }

    /// `3 queued behind, oldest 1.2s/30s` (the request timeout after the slash).
    private var queueText: String {
        let limit = requestTimeout.map { "/" + DurationSyntax.format(seconds: $0.seconds) } ?? ""
        return
            "\(Plural.count(queued, "queued", "queued")) behind, oldest \(DurationSyntax.format(seconds: queuedOldestSeconds))\(limit)"
    }

    /// What will happen next: the rule that will fire and when, `--max-lock-wait`, or the operator.
    private func next(_ wait: LockWait) -> String {
        var candidates: [(seconds: Double, text: String)] = []
        for blocker in blockers {
            let waiters = [wait]
            guard
                let rule = policy?.rules.first(where: { rule in
                    var now = rule
                    now.blockingFor = .zero
                    return now.matches(blocker, waiters: waiters)
                })
            else { continue }
            let left = max(0, rule.blockingFor.seconds - wait.waitingSeconds)
            candidates.append(
                (
                    left,
                    "rule '\(rule.name)' will \(rule.action.rawValue) pid \(blocker.pid) in \(DurationSyntax.format(seconds: left))"
                )
            )
        }
        if let limit = maxLockWait {
            let left = max(0, limit.seconds - wait.waitingSeconds)
            candidates.append(
                (left, "--max-lock-wait cancels the migration in \(DurationSyntax.format(seconds: left))")
            )
        }
        let soonest = candidates.min(by: { $0.seconds < $1.seconds })
        // The question does not stop a rule or --max-lock-wait: say which comes first, and when.
        if askingOperator {
            return "waiting for you" + (soonest.map { " (unless you answer first, \($0.text))" } ?? "")
        }
        if let soonest { return soonest.text }
        return interactive ? "you will be asked" : "nothing will act: it waits until the blocker ends"
    }
}
