import Policy
import WaitGraph

/// The one blocker-response state machine of guard, upgrade and the lock view: snapshots,
/// the time and the operator's orders in; responses (signal, skip as protected, skip as
/// rate-limited, dry run, log) out. It does no I/O and reads no clock: the caller passes the
/// time, as a duration on a monotonic clock of its own, so tests drive it with instants they choose.
///
/// Every signal it asks for carries the session's identity as judged (``SignalRequest``): the
/// effectful loop sends it only if PostgreSQL still finds that session, and tells the outcome
/// back through ``record(_:of:)``.
package struct BlockerResponder: Sendable {
    /// The policy in force, if any; ``replace(_:)`` swaps it.
    package private(set) var policy: Policy?
    /// `--max-lock-wait`: cancel the migration's statement once it has waited this long.
    package var maxLockWait: Duration?

    var acted: [SessionKey: Acted] = [:]
    private var reported: Set<Reported> = []
    private var actionTimes: [Duration] = []
    var cancelledForMaxWait: Set<SessionKey> = []

    /// What the responder remembers of an action on a session.
    struct Acted: Sendable {
        let rule: String
        let action: PolicyAction
        let at: Duration
        let xactStart: String?
        var escalated = false
    }

    /// A skip that is audited once, not at every poll.
    private struct Reported: Hashable {
        let key: SessionKey
        let rule: String
        let kind: String
    }

    /// Creates a responder.
    package init(policy: Policy?, maxLockWait: Duration? = nil) {
        self.policy = policy
        self.maxLockWait = maxLockWait
    }

    /// Swaps the policy (on SIGHUP). From now on every decision, escalations included, is by
    /// the new policy: a session already signalled is not signalled again by a rule, and it is
    /// escalated only if the new policy's rule of that name still matches it and escalates.
    package mutating func replace(_ policy: Policy?) {
        self.policy = policy
        acted = acted.filter { $0.value.action != .log }
        reported.removeAll()
    }

    /// The responses to `snapshot`, taken at `now`.
    package mutating func respond(
        to snapshot: LockSnapshot,
        at now: Duration,
        context: ResponderContext = ResponderContext()
    ) -> [Response] {
        forgetSessionsNotBlocking(snapshot, now: now)
        var responses = maxLockWaitResponses(snapshot, context: context)
        guard let policy else { return responses }
        let dryRun = policy.dryRun || context.forceDryRun
        for blocker in snapshot.blockers {
            let waiters = blocker.blocks.compactMap(snapshot.wait(of:))
            let key = SessionKey(pid: blocker.pid, backendStart: blocker.activity?.backendStart)
            if let earlier = acted[key] {
                if let escalation = escalate(earlier, blocker, waiters, policy, now: now, dryRun: dryRun, context) {
                    responses.append(escalation)
                }
                continue
            }
            guard let rule = policy.rules.first(where: { matches($0, blocker: blocker, waiters: waiters) }) else {
                continue
            }
            if let (reason, claim) = protection(blocker, context: context, policy: policy) {
                if reportOnce(key, rule: rule.name, kind: "protected") {
                    responses.append(
                        Response(
                            actor: .rule(rule.name),
                            action: rule.action,
                            disposition: .protected(reason: reason),
                            session: blocker,
                            waiters: waiters,
                            claim: claim
                        )
                    )
                }
                continue
            }
            let request = signalRequest(rule: rule, blocker: blocker, waiters: waiters)
            guard let disposition = dispose(rule.action, request, key: key, rule: rule.name, dryRun: dryRun, now: now)
            else { continue }
            if disposition != .rateLimited {
                acted[key] = Acted(
                    rule: rule.name,
                    action: rule.action,
                    at: now,
                    xactStart: blocker.activity?.xactStart
                )
            }
            responses.append(
                Response(
                    actor: .rule(rule.name),
                    action: rule.action,
                    disposition: disposition,
                    session: blocker,
                    waiters: waiters
                )
            )
        }
        return responses
    }

    /// The operator's order to signal `pid`, as `snapshot` shows it: identity-checked like any
    /// other signal, never on a protected session, and not counted against the policy's rate limit.
    package func order(
        _ action: SignalAction,
        on pid: Int32,
        in snapshot: LockSnapshot,
        context: ResponderContext
    ) -> Response? {
        guard let blocker = snapshot.blocker(pid) else { return nil }
        let waiters = blocker.blocks.compactMap(snapshot.wait(of:))
        let policyAction: PolicyAction = action == .cancel ? .cancel : .terminate
        if let (reason, claim) = protection(blocker, context: context, policy: policy) {
            return Response(
                actor: .operator,
                action: policyAction,
                disposition: .protected(reason: reason),
                session: blocker,
                waiters: waiters,
                claim: claim
            )
        }
        let request = SignalRequest(
            action: action,
            target: SessionIdentity(pid: pid, activity: blocker.activity, checksTransaction: true),
            waiter: waiters.max { $0.waitingSeconds < $1.waitingSeconds }?.pid
        )
        return Response(
            actor: .operator,
            action: policyAction,
            disposition: context.forceDryRun ? .dryRun(request) : .signal(request),
            session: blocker,
            waiters: waiters
        )
    }

    /// Takes in what came of a signal: a session that had changed or gone is judged afresh at
    /// the next snapshot; one signalled (or refused) is not signalled again by a rule.
    package mutating func record(_ outcome: SignalOutcome, of response: Response) {
        guard let request = response.signal else { return }
        switch outcome {
        case .changed, .gone:
            acted[request.target.key] = nil
            if response.actor == .maxLockWait { cancelledForMaxWait.remove(request.target.key) }
        case .signalled, .ineffective, .failed:
            break
        }
    }
}

extension BlockerResponder {
    /// Drops the memory of sessions that block no one now, and of actions older than a minute.
    private mutating func forgetSessionsNotBlocking(_ snapshot: LockSnapshot, now: Duration) {
        let blocking = Set(snapshot.blockers.map { SessionKey(pid: $0.pid, backendStart: $0.activity?.backendStart) })
        acted = acted.filter { blocking.contains($0.key) }
        reported = reported.filter { blocking.contains($0.key) }
        actionTimes.removeAll { now - $0 >= .seconds(60) }
        let waiting = Set(snapshot.waits.map { $0.activity.key(pid: $0.pid) })
        cancelledForMaxWait = cancelledForMaxWait.filter { waiting.contains($0) }
    }

    /// The identity-checked signal for `rule` on `blocker`, judged for its longest-waiting counted waiter.
    private func signalRequest(rule: Rule, blocker: Blocker, waiters: [LockWait]) -> SignalRequest? {
        let action: SignalAction
        switch rule.action {
        case .log: return nil
        case .cancel: action = .cancel
        case .terminate: action = .terminate
        }
        let counted = waiters.filter { rule.counts($0) }
        return SignalRequest(
            action: action,
            target: SessionIdentity(
                pid: blocker.pid,
                activity: blocker.activity,
                checksTransaction: rule.judgesTransaction
            ),
            waiter: counted.max { $0.waitingSeconds < $1.waitingSeconds }?.pid
        )
    }

    /// Signal, dry run or rate-limited; `nil` when a rate limit was already reported for this session.
    mutating func dispose(
        _ action: PolicyAction,
        _ request: SignalRequest?,
        key: SessionKey,
        rule: String,
        dryRun: Bool,
        now: Duration
    ) -> Response.Disposition? {
        guard let request else { return .logged }
        guard actionTimes.count < (policy?.maxActionsPerMinute ?? .max) else {
            return reportOnce(key, rule: rule, kind: "rate-limited") ? .rateLimited : nil
        }
        actionTimes.append(now)
        return dryRun ? .dryRun(request) : .signal(request)
    }

    mutating func reportOnce(_ key: SessionKey, rule: String, kind: String) -> Bool {
        reported.insert(Reported(key: key, rule: rule, kind: kind)).inserted
    }
}
