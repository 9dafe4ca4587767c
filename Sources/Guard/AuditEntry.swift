import Foundation
import Policy
import WaitGraph
import WardenSupport

/// One decision of the policy, as one JSON line of the audit log.
public struct AuditEntry: Sendable {
    /// What came of the decision.
    public enum Outcome: String, Sendable {
        /// The server signalled the blocker.
        case signalled
        /// Dry run: nothing was signalled.
        case dryRun = "dry-run"
        /// The blocker is protected: nothing was signalled.
        case protected
        /// `max_actions_per_minute` was reached: nothing was signalled.
        case rateLimited = "rate-limited"
        /// An action `log`: nothing to signal.
        case logged
        /// Signalling failed (for example, for want of a privilege).
        case failed
        /// The blocker had gone before it could be signalled.
        case gone
    }

    public let time: Date
    public let decision: Decision
    public let outcome: Outcome
    /// Why, for `protected`, `failed`, or a signal known to be ineffective.
    public let detail: String?

    /// Creates an entry.
    public init(time: Date, decision: Decision, outcome: Outcome, detail: String? = nil) {
        self.time = time
        self.decision = decision
        self.outcome = outcome
        self.detail = detail
    }

    /// The JSON object of the line.
    public var json: JSONValue {
        let blocker = decision.blocker
        let activity = blocker.activity
        return .object([
            ("time", .string(LockSnapshot.timestamp(time))),
            ("rule", .string(decision.rule)),
            ("action", .string(decision.action.rawValue)),
            ("escalation", .bool(decision.isEscalation)),
            ("outcome", .string(outcome.rawValue)),
            ("detail", .string(detail)),
            (
                "blocker",
                .object([
                    ("pid", .integer(blocker.pid)),
                    ("usename", .string(activity?.usename)),
                    ("application_name", .string(activity?.applicationName)),
                    ("datname", .string(activity?.datname)),
                    ("state", .string(activity?.state)),
                    ("xact_seconds", .seconds(activity?.xactSeconds)),
                    ("query", .string(activity?.query)),
                    ("blocked_total", .integer(blocker.blockedTotal)),
                ])
            ),
            (
                "waiters",
                .array(
                    decision.waiters.map { wait in
                        .object([
                            ("pid", .integer(wait.pid)),
                            ("waiting_seconds", .seconds(wait.waitingSeconds)),
                            ("application_name", .string(wait.activity.applicationName)),
                            ("lock", wait.lock.json),
                            ("query", .string(wait.activity.query)),
                        ])
                    }
                )
            ),
        ])
    }
}
