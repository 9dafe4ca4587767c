import Policy
import WaitGraph
import WardenSupport

extension BlockerResponder {
    /// Whether `rule` matches `blocker`, whose direct waiters are `waiters`.
    package func matches(_ rule: Rule, blocker: Blocker, waiters: [LockWait]) -> Bool {
        rule.matches(blocker, waiters: waiters)
    }

    /// Why `blocker` may not be signalled, if it may not. Protection is by identity: pgwarden's
    /// own backend pids and the migration's identified sessions; never by a name a session chose.
    package func protectionReason(_ blocker: Blocker, context: ResponderContext, policy: Policy?) -> String? {
        protection(blocker, context: context, policy: policy)?.reason
    }

    /// Why `blocker` may not be signalled, and the upgrade's claim when that is why.
    func protection(_ blocker: Blocker, context: ResponderContext, policy: Policy?) -> (
        reason: String, claim: UpgradeClaim?
    )? {
        guard let activity = blocker.activity, blocker.pid != 0 else {
            return protectionReason(blocker, activity: nil, context: context, policy: policy).map { ($0, nil) }
        }
        if let claim = context.claims[activity.key(pid: blocker.pid)], !context.ownPIDs.contains(blocker.pid),
            context.migration?.contains(activity.key(pid: blocker.pid)) != true
        {
            return (claim.reason, claim)
        }
        return protectionReason(blocker, activity: activity, context: context, policy: policy).map { ($0, nil) }
    }

    private func protectionReason(
        _ blocker: Blocker,
        activity: SessionActivity?,
        context: ResponderContext,
        policy: Policy?
    ) -> String? {
        if blocker.pid == 0 {
            return "a prepared transaction: only COMMIT PREPARED or ROLLBACK PREPARED ends it"
        }
        if context.ownPIDs.contains(blocker.pid) { return "pgwarden's own session" }
        guard let activity else { return "its session could not be read" }
        let key = activity.key(pid: blocker.pid)
        if let migration = context.migration {
            if migration.contains(key) { return "the supervised migration's session" }
            if migration.mightContain(key) {
                return "connected after the migration started, whose sessions are not identified yet"
            }
        }
        if let type = activity.backendType, type != "client backend" { return "a \(type), not a client backend" }
        if activity.backendStart == nil {
            return "its identity (backend_start) cannot be read: pgwarden's role needs pg_monitor (pg_read_all_stats)"
        }
        return policy?.protection.reason(usename: activity.usename, applicationName: activity.applicationName)
    }

    /// The escalation of an earlier cancel, when the rule in force by that name still matches,
    /// escalates, and its `escalate_after` has passed; re-checked for protection like any decision.
    mutating func escalate(
        _ earlier: Acted,
        _ blocker: Blocker,
        _ waiters: [LockWait],
        _ policy: Policy,
        now: Duration,
        dryRun: Bool,
        _ context: ResponderContext
    ) -> Response? {
        guard earlier.action == .cancel, !earlier.escalated,
            let rule = policy.rules.first(where: { $0.name == earlier.rule }),
            rule.action == .cancel, let after = rule.escalateAfter, now - earlier.at >= after
        else { return nil }
        let key = SessionKey(pid: blocker.pid, backendStart: blocker.activity?.backendStart)
        guard blocker.activity?.xactStart == earlier.xactStart else {
            acted[key] = nil  // a new transaction since the cancel: judged afresh
            return nil
        }
        guard rule.matches(blocker, waiters: waiters) else { return nil }
        var escalated = earlier
        escalated.escalated = true
        acted[key] = escalated
        if let (reason, claim) = protection(blocker, context: context, policy: policy) {
            return Response(
                actor: .escalation(rule.name),
                action: .terminate,
                disposition: .protected(reason: reason),
                session: blocker,
                waiters: waiters,
                claim: claim
            )
        }
        let request = SignalRequest(
            action: .terminate,
            target: SessionIdentity(pid: blocker.pid, activity: blocker.activity, checksTransaction: true),
            waiter: waiters.filter(rule.counts).max { $0.waitingSeconds < $1.waitingSeconds }?.pid
        )
        guard let disposition = dispose(.terminate, request, key: key, rule: rule.name, dryRun: dryRun, now: now) else {
            return nil
        }
        if disposition == .rateLimited { acted[key] = earlier }
        return Response(
            actor: .escalation(rule.name),
            action: .terminate,
            disposition: disposition,
            session: blocker,
            waiters: waiters
        )
    }

    /// `--max-lock-wait`: a wait of the migration's own sessions longer than the limit cancels
    /// that session's statement, once per wait.
    mutating func maxLockWaitResponses(_ snapshot: LockSnapshot, context: ResponderContext) -> [Response] {
        guard let limit = maxLockWait, let migration = context.migration else { return [] }
        var responses: [Response] = []
        for wait in snapshot.waits where wait.waitingSeconds >= limit.seconds {
            let key = wait.activity.key(pid: wait.pid)
            guard migration.contains(key), cancelledForMaxWait.insert(key).inserted else { continue }
            let session = Blocker(
                pid: wait.pid,
                blocks: [],
                blockedTotal: snapshot.waits(blockedBy: wait.pid).count,
                root: false,
                activity: wait.activity,
                preparedGIDs: []
            )
            let request = SignalRequest(
                action: .cancel,
                target: SessionIdentity(pid: wait.pid, activity: wait.activity, checksTransaction: true)
            )
            responses.append(
                Response(
                    actor: .maxLockWait,
                    action: .cancel,
                    disposition: context.forceDryRun ? .dryRun(request) : .signal(request),
                    session: session,
                    waiters: [wait]
                )
            )
        }
        return responses
    }
}
