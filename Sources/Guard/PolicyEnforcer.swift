import Foundation
import LockInspection
import Policy

/// Carries out the policy's decisions with a ``BackendSignaller`` and says what came of each.
public struct PolicyEnforcer: Sendable {
    private let signaller: BackendSignaller

    /// Creates an enforcer that signals through `signaller`.
    public init(signaller: BackendSignaller) {
        self.signaller = signaller
    }

    /// Carries out `decision` and returns its audit entry.
    public func enforce(_ decision: Decision, at time: Date) async -> AuditEntry {
        switch decision.disposition {
        case .dryRun:
            return AuditEntry(time: time, decision: decision, outcome: .dryRun)
        case .protected(let reason):
            return AuditEntry(time: time, decision: decision, outcome: .protected, detail: reason)
        case .rateLimited:
            return AuditEntry(
                time: time,
                decision: decision,
                outcome: .rateLimited,
                detail: "max_actions_per_minute reached"
            )
        case .execute:
            let action: BackendSignaller.Action
            switch decision.action {
            case .log: return AuditEntry(time: time, decision: decision, outcome: .logged)
            case .cancel: action = .cancel
            case .terminate: action = .terminate
            }
            let outcome = await signaller.signal(decision.blocker.pid, action)
            switch outcome.result {
            case .signalled:
                return AuditEntry(time: time, decision: decision, outcome: .signalled)
            case .ineffective(let reason):
                return AuditEntry(time: time, decision: decision, outcome: .signalled, detail: "ineffective: " + reason)
            case .noSuchBackend:
                return AuditEntry(time: time, decision: decision, outcome: .gone)
            case .notPermitted(let reason), .failed(let reason):
                return AuditEntry(time: time, decision: decision, outcome: .failed, detail: reason)
            }
        }
    }
}
