import FoundationEssentials
import LockInspection
import Policy
import Response
import WaitGraph
import WardenSupport

/// One decision, as one JSON line of an audit log: the guard's and upgrade's alike.
package struct AuditRecord: Sendable {
    /// When it was carried out.
    package let time: Date
    /// The decision.
    package let response: Response
    /// What PostgreSQL returned, for a signal; `nil` when nothing was sent.
    package let report: BackendSignaller.Report?
    /// The server's version (`16.2`), as the guard and the report state it.
    package let serverVersion: String?

    /// Creates a record.
    package init(time: Date, response: Response, report: BackendSignaller.Report?, serverVersion: String? = nil) {
        self.time = time
        self.response = response
        self.report = report
        self.serverVersion = serverVersion
    }

    /// The audit's word: `signalled`, `ineffective`, `changed`, `gone`, `failed`, `dry-run`,
    /// `protected`, `rate-limited`, `logged`.
    package var outcome: String {
        if let report { return report.outcome.name }
        switch response.disposition {
        case .signal: return "failed"
        case .dryRun: return "dry-run"
        case .protected: return "protected"
        case .rateLimited: return "rate-limited"
        case .logged: return "logged"
        }
    }

    /// Why, for `protected`, `rate-limited`, `ineffective`, `changed` and `failed`.
    package var detail: String? {
        if let report { return report.outcome.detail }
        switch response.disposition {
        case .protected(let reason): return reason
        case .rateLimited: return "max_actions_per_minute reached"
        case .signal, .dryRun, .logged: return nil
        }
    }

    /// The JSON object of the line.
    package var json: JSONValue {
        let request =
            response.signal ?? { if case .dryRun(let r) = response.disposition { return r } else { return nil } }()
        var fields: [(String, JSONValue)] = [
            ("time", .string(LockSnapshot.timestamp(time))),
            ("server_version", .string(serverVersion)),
            ("by", .string(response.actor.description)),
            ("rule", .string(response.actor.ruleName)),
            ("action", .string(response.action.rawValue)),
            ("escalation", .bool({ if case .escalation = response.actor { true } else { false } }())),
            ("outcome", .string(outcome)),
            ("detail", .string(detail)),
            ("blocker", blockerJSON),
        ]
        if let claim = response.claim {
            fields.append(
                (
                    "protected",
                    .object([
                        ("by", .string(claim.by)),
                        ("run_id", .string(claim.runID)),
                        ("holder_pid", .integer(claim.holderPID)),
                        ("holder_role", .string(claim.holderRole)),
                    ])
                )
            )
        }
        if let request {
            fields.append(
                (
                    "checked",
                    .object([
                        ("backend_start", .bool(request.target.key.backendStart != nil)),
                        ("transaction", .bool(request.target.checksTransaction)),
                        ("still_blocks", .integer(request.waiter)),
                    ])
                )
            )
        }
        if let report, case .changed = report.outcome {
            fields.append(
                (
                    "found",
                    .object([
                        ("backend_start", .string(report.backendStart)),
                        ("state", .string(report.state)),
                        ("query_start", .string(report.queryStart)),
                    ])
                )
            )
        }
        fields.append(("waiters", .array(response.waiters.map(Self.waiterJSON))))
        return .object(fields)
    }

    /// The blocker as the decision saw it.
    private var blockerJSON: JSONValue {
        let session = response.session
        let activity = session.activity
        return .object([
            ("pid", .integer(session.pid)),
            ("backend_start", .string(activity?.backendStart)),
            ("xact_start", .string(activity?.xactStart)),
            ("usename", .string(activity?.usename)),
            ("application_name", .string(activity?.applicationName)),
            ("datname", .string(activity?.datname)),
            ("state", .string(activity?.state)),
            ("xact_seconds", .seconds(activity?.xactSeconds)),
            ("query", .string(activity?.query)),
            ("blocked_total", .integer(session.blockedTotal)),
        ])
    }

    private static func waiterJSON(_ wait: LockWait) -> JSONValue {
        .object([
            ("pid", .integer(wait.pid)),
            ("waiting_seconds", .seconds(wait.waitingSeconds)),
            ("application_name", .string(wait.activity.applicationName)),
            ("lock", wait.lock.json),
            ("query", .string(wait.activity.query)),
        ])
    }
}

/// Where audit records go.
package protocol AuditSink: Sendable {
    /// Appends one record as one line; returns false when it could not be written.
    @discardableResult
    func append(_ line: JSONValue) -> Bool
}
