import WaitGraph
import WardenSupport

/// Applies a ``Policy`` to lock snapshots: pure decisions, with memory of earlier actions.
///
/// The engine reads no clock: the caller passes the time of each snapshot, so tests can
/// drive escalation and the rate limit with a clock of their own. Wait times come from
/// the server (`pg_locks.waitstart`), so `blocking_for` is measured from the waiter's own
/// wait start, not from the blocker's query start.
public struct PolicyEngine: Sendable {
    /// The policy in force; ``replace(_:)`` swaps it and keeps the memory.
    public private(set) var policy: Policy
    private var acted: [Int32: Acted] = [:]
    private var reported: Set<Reported> = []
    private var actionTimes: [ContinuousClock.Instant] = []

    /// What the engine remembers of an action on a blocker.
    private struct Acted {
        let rule: Rule
        let action: PolicyAction
        let at: ContinuousClock.Instant
        var escalated = false
    }

    /// A decision that is audited once, not at every poll.
    private struct Reported: Hashable {
        let pid: Int32
        let rule: String
        let kind: String
    }

    /// Creates an engine.
    public init(policy: Policy) {
        self.policy = policy
    }

    /// Swaps the policy (on SIGHUP). Blockers already signalled stay remembered (no second
    /// signal, escalation still due); those only logged or reported are judged afresh.
    public mutating func replace(_ policy: Policy) {
        self.policy = policy
        acted = acted.filter { $0.value.action != .log }
        reported.removeAll()
    }

    /// Sessions protected whatever the policy says, besides non-client backends.
    public struct Context: Sendable {
        /// pgwarden's own sessions.
        public var ownPIDs: Set<Int32>
        /// Other sessions never to signal (the supervised migration's).
        public var protectedPIDs: Set<Int32>
        /// Force dry run (`--dry-run`), whatever the policy says.
        public var forceDryRun: Bool

        /// Creates a context.
        public init(ownPIDs: Set<Int32> = [], protectedPIDs: Set<Int32> = [], forceDryRun: Bool = false) {
            self.ownPIDs = ownPIDs
            self.protectedPIDs = protectedPIDs
            self.forceDryRun = forceDryRun
        }
    }

    /// The decisions for `snapshot`, taken at `now`.
    public mutating func decide(
        _ snapshot: LockSnapshot,
        at now: ContinuousClock.Instant,
        context: Context = Context()
    ) -> [Decision] {
        let blocking = Set(snapshot.blockers.map(\.pid))
        acted = acted.filter { blocking.contains($0.key) }
        reported = reported.filter { blocking.contains($0.pid) }
        actionTimes.removeAll { now - $0 >= .seconds(60) }
        let dryRun = policy.dryRun || context.forceDryRun

        var decisions: [Decision] = []
        for blocker in snapshot.blockers {
            let waiters = blocker.blocks.compactMap(snapshot.wait(of:))
            if var earlier = acted[blocker.pid] {
                guard let escalation = escalation(of: earlier, at: now) else { continue }
                let disposition = dispose(
                    .terminate,
                    rule: earlier.rule.name,
                    blocker: blocker,
                    dryRun: dryRun,
                    now: now
                )
                if disposition == .execute || disposition == .dryRun {
                    earlier.escalated = true
                    acted[blocker.pid] = earlier
                }
                if let disposition {
                    decisions.append(
                        Decision(
                            rule: escalation.name,
                            action: .terminate,
                            disposition: disposition,
                            isEscalation: true,
                            blocker: blocker,
                            waiters: waiters
                        )
                    )
                }
                continue
            }
            guard let rule = policy.rules.first(where: { matches($0, blocker: blocker, waiters: waiters) }) else {
                continue
            }
            if let reason = protectionReason(blocker, context: context) {
                if reportOnce(blocker.pid, rule: rule.name, kind: "protected") {
                    decisions.append(
                        Decision(
                            rule: rule.name,
                            action: rule.action,
                            disposition: .protected(reason: reason),
                            isEscalation: false,
                            blocker: blocker,
                            waiters: waiters
                        )
                    )
                }
                continue
            }
            guard let disposition = dispose(rule.action, rule: rule.name, blocker: blocker, dryRun: dryRun, now: now)
            else {
                continue
            }
            if disposition != .rateLimited {
                acted[blocker.pid] = Acted(rule: rule, action: rule.action, at: now)
            }
            decisions.append(
                Decision(
                    rule: rule.name,
                    action: rule.action,
                    disposition: disposition,
                    isEscalation: false,
                    blocker: blocker,
                    waiters: waiters
                )
            )
        }
        return decisions
    }

    /// The rule to escalate by, when a cancel has not freed its waiters within `escalate_after`.
    private func escalation(of earlier: Acted, at now: ContinuousClock.Instant) -> Rule? {
        guard earlier.action == .cancel, !earlier.escalated, let after = earlier.rule.escalateAfter,
            now - earlier.at >= after
        else { return nil }
        return earlier.rule
    }

    /// Execute, dry run or rate-limited; `nil` when a rate limit was already reported for this blocker.
    private mutating func dispose(
        _ action: PolicyAction,
        rule: String,
        blocker: Blocker,
        dryRun: Bool,
        now: ContinuousClock.Instant
    ) -> Decision.Disposition? {
        if action == .log { return .execute }
        guard actionTimes.count < policy.maxActionsPerMinute else {
            return reportOnce(blocker.pid, rule: rule, kind: "rate-limited") ? .rateLimited : nil
        }
        actionTimes.append(now)
        return dryRun ? .dryRun : .execute
    }

    private mutating func reportOnce(_ pid: Int32, rule: String, kind: String) -> Bool {
        reported.insert(Reported(pid: pid, rule: rule, kind: kind)).inserted
    }

    /// Why `blocker` may not be signalled, if it may not.
    public func protectionReason(_ blocker: Blocker, context: Context) -> String? {
        if blocker.pid == 0 {
            return "a prepared transaction: only COMMIT PREPARED or ROLLBACK PREPARED ends it"
        }
        if context.ownPIDs.contains(blocker.pid) { return "pgwarden's own session" }
        if context.protectedPIDs.contains(blocker.pid) { return "the supervised migration's session" }
        guard let activity = blocker.activity else { return "its session could not be read" }
        let application = activity.applicationName ?? ""
        if application == "pgwarden" || application.hasPrefix("pgwarden-") {
            return application.hasPrefix("pgwarden-migration")
                ? "the supervised migration's session" : "a pgwarden session"
        }
        if let type = activity.backendType, type != "client backend" { return "a \(type), not a client backend" }
        if let user = activity.usename, policy.protection.users.contains(user) { return "[protect] users: \(user)" }
        if let glob = policy.protection.applicationNames.first(where: { $0.matches(application) }) {
            return "[protect] application_names: \(glob)"
        }
        return nil
    }

    /// Whether `rule` matches `blocker`, whose direct waiters are `waiters`.
    public func matches(_ rule: Rule, blocker: Blocker, waiters: [LockWait]) -> Bool {
        let counted = waiters.filter { wait in
            rule.waiterApplicationName.map { $0.matches(wait.activity.applicationName ?? "") } ?? true
        }
        guard let longest = counted.map(\.waitingSeconds).max(), longest >= rule.blockingFor.seconds else {
            return false
        }
        let activity = blocker.activity
        if let states = rule.states, !states.contains(activity?.state ?? "") { return false }
        if let users = rule.users, !users.contains(activity?.usename ?? "") { return false }
        if let glob = rule.applicationName, !glob.matches(activity?.applicationName ?? "") { return false }
        if let databases = rule.databases, !databases.contains(activity?.datname ?? "") { return false }
        if let query = rule.query, !query.matches(activity?.query ?? "") { return false }
        if let age = rule.minTransactionAge, (activity?.xactSeconds ?? -1) < age.seconds { return false }
        return true
    }
}
