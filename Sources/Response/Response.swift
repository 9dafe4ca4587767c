import Policy
import WaitGraph

/// Who decided an action.
package enum Actor: Sendable, Equatable, CustomStringConvertible {
    /// A policy rule, by name.
    case rule(String)
    /// A rule's `escalate_after`: its cancel did not free the waiters.
    case escalation(String)
    /// `--max-lock-wait`: the migration waited too long; its own statement is cancelled.
    case maxLockWait
    /// The operator's answer at the prompt or in the lock view.
    case `operator`
    /// A `[preflight]` key, acting on the forecast before the migration starts.
    case preflight(String)

    /// `policy:NAME`, `escalation:NAME`, `max-lock-wait`, `operator`, `preflight:KEY`.
    package var description: String {
        switch self {
        case .rule(let name): "policy:\(name)"
        case .escalation(let name): "escalation:\(name)"
        case .maxLockWait: "max-lock-wait"
        case .operator: "operator"
        case .preflight(let key): "preflight:\(key)"
        }
    }

    /// The rule's name, for a rule or an escalation; the key, for a `[preflight]` key.
    package var ruleName: String? {
        switch self {
        case .rule(let name), .escalation(let name), .preflight(let name): name
        case .maxLockWait, .operator: nil
        }
    }
}

/// One decision of the responder: what to do about one session, and why.
package struct Response: Sendable {
    /// What becomes of it.
    package enum Disposition: Sendable, Equatable {
        /// Send the signal (identity-checked).
        case signal(SignalRequest)
        /// Would send it, but this is a dry run.
        case dryRun(SignalRequest)
        /// Never: the session is protected; the reason says by what.
        case protected(reason: String)
        /// Not now: `max_actions_per_minute` is reached.
        case rateLimited
        /// The rule's action is `log`: audit only.
        case logged
    }

    /// Who decided.
    package let actor: Actor
    /// What was asked for.
    package let action: PolicyAction
    /// What becomes of it.
    package let disposition: Disposition
    /// The session acted on, as the snapshot showed it.
    package let session: Blocker
    /// The sessions it blocks directly, with their waits (for `--max-lock-wait`: its own wait).
    package let waiters: [LockWait]
    /// For a session protected by an upgrade's claim: the claim (the audit's `"protected": {"by": …}`).
    package let claim: UpgradeClaim?

    /// Creates a response.
    package init(
        actor: Actor,
        action: PolicyAction,
        disposition: Disposition,
        session: Blocker,
        waiters: [LockWait],
        claim: UpgradeClaim? = nil
    ) {
        self.actor = actor
        self.action = action
        self.disposition = disposition
        self.session = session
        self.waiters = waiters
        self.claim = claim
    }

    /// The signal to send now, if any.
    package var signal: SignalRequest? {
        if case .signal(let request) = disposition { return request }
        return nil
    }
}
