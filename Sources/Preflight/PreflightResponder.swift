import Forecast
import Policy
import Response
import WaitGraph
import WardenSupport

/// What `[preflight]` makes of a forecast before the migration starts.
package struct PreflightDecision: Sendable {
    /// A session that a `[preflight]` key acts on, and the statement that would wait on it.
    package struct Action: Sendable {
        /// The statement's number in the forecast.
        package var statement: Int
        /// The lock the session holds that the statement conflicts with, as the forecast read it.
        package var lock: LiveLock
        /// A terminate (signal, or dry run) of a session idle in transaction long enough, or the
        /// session spared as protected.
        package var response: Response
    }

    /// Each session once, for the first statement that would wait on it.
    package var actions: [Action]
    /// Why the migration must not start, one sentence each; empty when it may.
    package var refusals: [String]
    /// Sessions a terminate would have ended but for a lock that is not certain (static analysis, or one that
    /// depends on rows), one sentence each: reported, never acted on.
    package var leftAlone: [String] = []
    /// The safer forms of the statements a `max_block` refusal names, for the hint.
    package var saferForms: [String] = []

    /// Creates a decision.
    package init(actions: [Action] = [], refusals: [String] = []) {
        self.actions = actions
        self.refusals = refusals
    }
}

/// Judges a forecast by the policy's `[preflight]` table: pure, like ``BlockerResponder``, so that what
/// acts before a migration is tested without a server. Nothing acts without a `[preflight]` table.
///
/// A terminate acts only on a conflict with a lock the statement takes for certain: one the rehearsal backend
/// held (``RelationLock/isCertain``). A static lock, or one that depends on rows, is reported and left alone.
///
/// A terminate is identity-checked like every signal (pid, `backend_start`, `xact_start`, `state`): a
/// session that committed, or did anything but sit idle in the same transaction, since the forecast
/// read it is not signalled. Protection is the responder's own: pgwarden's sessions, prepared
/// transactions, backends that are not client backends, sessions whose identity cannot be read, and
/// `[protect]`.
package enum PreflightResponder {
    /// The `[preflight]` key that terminates idle transactions.
    package static let terminateKey = "terminate_idle_in_transaction"

    /// The decision for `forecast` under `policy`.
    package static func decide(
        _ forecast: MigrationForecast,
        policy: Policy?,
        context: ResponderContext
    ) -> PreflightDecision {
        guard let policy, let preflight = policy.preflight else { return PreflightDecision() }
        var decision = PreflightDecision()
        // A limit that cannot be checked is not taken as met.
        let limits = [
            preflight.refuseIfWaitsOnProtected ? "refuse_if_waits_on_protected" : nil,
            preflight.maxRewriteMegabytes != nil ? "max_rewrite_mb" : nil,
            preflight.maxBlock != nil ? "max_block" : nil,
        ].compactMap { $0 }
        if !limits.isEmpty {
            for item in forecast.notForecast {
                decision.refusals.append(
                    "\(item) is not forecast, so \(limits.joined(separator: " and ")) cannot be checked on it"
                )
            }
        }
        var judged: Set<Int32> = []
        var reported: Set<Int32> = []
        for statement in forecast.statements {
            for lock in statement.conflicts where !judged.contains(lock.pid) {
                let certain =
                    statement.analysis?.locks.contains { mine in
                        mine.isCertain && mine.relation == lock.relation && mine.mode.conflicts(with: lock.mode)
                    } ?? false
                if certain || preflight.refuseIfWaitsOnProtected && unendable(lock, policy: policy) != nil {
                    judged.insert(lock.pid)
                    judge(lock, statement: statement.number, policy: policy, preflight, context, into: &decision)
                } else if let age = preflight.terminateIdleInTransaction, isIdleInTransaction(lock, atLeast: age),
                    reported.insert(lock.pid).inserted
                {
                    let sentence =
                        "statement \(statement.number) may wait on pid \(lock.pid) (\(describe(lock))), which holds"
                        + " \(lock.mode.name) on \(lock.relation): left alone, the statement's lock on it is not certain"
                        + " (static analysis, not seen in a rehearsal)"
                    decision.leftAlone.append(sentence)
                }
            }
            if let refusal = rewriteRefusal(statement, limit: preflight.maxRewriteMegabytes) {
                decision.refusals.append(refusal)
            }
        }
        let blocks = PreflightBlockLimit.check(forecast, limit: preflight.maxBlock)
        decision.refusals += blocks.refusals
        decision.saferForms = blocks.saferForms
        return decision
    }

    private static func judge(
        _ lock: LiveLock,
        statement: Int,
        policy: Policy,
        _ preflight: PreflightPolicy,
        _ context: ResponderContext,
        into decision: inout PreflightDecision
    ) {
        let blocker = Blocker(live: lock)
        if preflight.refuseIfWaitsOnProtected, let reason = unendable(lock, policy: policy) {
            decision.refusals.append(
                "statement \(statement) would wait on \(lock.pid == 0 ? "a prepared transaction (pid 0)" : "pid \(lock.pid) (\(describe(lock)))"), which pgwarden may not end: \(reason)"
            )
            return
        }
        guard let age = preflight.terminateIdleInTransaction,
            lock.pid == 0 || isIdleInTransaction(lock, atLeast: age)
        else { return }
        let disposition: Response.Disposition
        if let reason = BlockerResponder(policy: policy).protectionReason(blocker, context: context, policy: policy) {
            disposition = .protected(reason: reason)
        } else {
            var target = SessionIdentity(pid: lock.pid, activity: blocker.activity, checksTransaction: true)
            // Only sitting idle in the same transaction since the forecast keeps it the judged session: a
            // statement since (ROLLBACK TO SAVEPOINT releases the very lock) makes it another.
            target.queryStart = lock.identity.queryStart
            let request = SignalRequest(action: .terminate, target: target)
            disposition = policy.dryRun || context.forceDryRun ? .dryRun(request) : .signal(request)
        }
        let response = Response(
            actor: .preflight(terminateKey),
            action: .terminate,
            disposition: disposition,
            session: blocker,
            waiters: []
        )
        decision.actions.append(PreflightDecision.Action(statement: statement, lock: lock, response: response))
    }

    /// Why pgwarden may never end the session behind `lock`, for `refuse_if_waits_on_protected`: `[protect]`
    /// names it, or it is a prepared transaction (only COMMIT PREPARED or ROLLBACK PREPARED ends one).
    private static func unendable(_ lock: LiveLock, policy: Policy) -> String? {
        if lock.pid == 0 { return "only COMMIT PREPARED or ROLLBACK PREPARED ends it" }
        return policy.protection.reason(usename: lock.identity.usename, applicationName: lock.applicationName)
    }

    /// Whether the session holds its lock idle in a transaction open at least `age`.
    private static func isIdleInTransaction(_ lock: LiveLock, atLeast age: Duration) -> Bool {
        guard lock.granted, let state = lock.state, state.hasPrefix("idle in transaction"),
            let seconds = lock.transactionSeconds
        else { return false }
        return Duration.milliseconds(Int64((seconds * 1000).rounded(.down))) >= age
    }

    private static func rewriteRefusal(_ statement: StatementForecast, limit: Int?) -> String? {
        guard let limit, let analysis = statement.analysis else { return nil }
        let bytesLimit = Int64(limit) * 1024 * 1024
        guard let rewrite = analysis.rewrites.first(where: { ($0.facts?.bytes ?? 0) > bytesLimit }),
            let bytes = rewrite.facts?.bytes
        else { return nil }
        let mode = analysis.locks.first { $0.relation == rewrite.relation }?.mode ?? analysis.strongestMode
        return "statement \(statement.number) rewrites \(ForecastPlanner.describe(bytes: bytes)) of \(rewrite.relation)"
            + (mode.map { " under \($0.name)" } ?? "") + ": more than max_rewrite_mb = \(limit)"
    }

    private static func describe(_ lock: LiveLock) -> String {
        [lock.state, lock.applicationName.map { "application '\($0)'" }, lock.identity.usename.map { "role \($0)" }]
            .compactMap { $0 }.joined(separator: ", ")
    }
}

extension Blocker {
    /// A session the forecast found holding or waiting for a lock, as the responder judges blockers.
    init(live lock: LiveLock) {
        self.init(
            pid: lock.pid,
            blocks: [],
            blockedTotal: 0,
            root: lock.granted,
            activity: lock.pid == 0
                ? nil
                : SessionActivity(
                    state: lock.state,
                    xactSeconds: lock.transactionSeconds,
                    usename: lock.identity.usename,
                    applicationName: lock.applicationName,
                    backendType: lock.identity.backendType,
                    query: lock.query,
                    backendStart: lock.identity.backendStart,
                    xactStart: lock.identity.xactStart
                )
        )
    }
}
