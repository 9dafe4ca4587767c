import Policy
import Synchronization

/// What the guard counts, in Prometheus's text exposition format.
package final class GuardMetrics: Sendable {
    private struct State {
        var polls = 0
        var pollSeconds = 0.0
        var lockWaits = 0
        var longestWaitSeconds = 0.0
        var reconnects = 0
        var connected = false
        var actions: [ActionKey: Int] = [:]
    }

    private struct ActionKey: Hashable, Comparable {
        let rule: String
        let action: String
        let outcome: String

        static func < (lhs: ActionKey, rhs: ActionKey) -> Bool {
            (lhs.rule, lhs.action, lhs.outcome) < (rhs.rule, rhs.action, rhs.outcome)
        }
    }

    private let state = Mutex(State())

    /// Creates empty metrics.
    package init() {}

    /// A poll that took `seconds` and saw `waits` (the longest `longest` seconds).
    package func recordPoll(seconds: Double, waits: Int, longest: Double) {
        state.withLock {
            $0.polls += 1
            $0.pollSeconds += seconds
            $0.lockWaits = waits
            $0.longestWaitSeconds = longest
        }
    }

    /// A decision carried out, by rule and outcome.
    package func recordAction(rule: String, action: String, outcome: String) {
        state.withLock { $0.actions[ActionKey(rule: rule, action: action, outcome: outcome), default: 0] += 1 }
    }

    /// Declares the series of `policy`'s rules at zero, so that `pgwarden_guard_actions_total` has a
    /// sample for each before its first action (`rate()` and alerts on it work from the start): each
    /// rule's action with the outcome it has when all goes well (`signalled`; `dry-run` in a dry run;
    /// `logged` for `log`), and the terminate of its escalation. A series already counted is kept.
    package func declare(_ policy: Policy, forceDryRun: Bool) {
        let dryRun = policy.dryRun || forceDryRun
        var keys: [ActionKey] = []
        for rule in policy.rules {
            let outcome = rule.action == .log ? "logged" : dryRun ? "dry-run" : "signalled"
            keys.append(ActionKey(rule: rule.name, action: rule.action.rawValue, outcome: outcome))
            if rule.escalateAfter != nil {
                keys.append(ActionKey(rule: rule.name, action: "terminate", outcome: dryRun ? "dry-run" : "signalled"))
            }
        }
        state.withLock { state in
            for key in keys where state.actions[key] == nil { state.actions[key] = 0 }
        }
    }

    /// The connection came up (again).
    package func recordConnected(reconnect: Bool) {
        state.withLock {
            $0.connected = true
            if reconnect { $0.reconnects += 1 }
        }
    }

    /// The connection went away.
    package func recordDisconnected() {
        state.withLock { $0.connected = false }
    }

    /// The metrics as Prometheus text.
    package func exposition() -> String {
        let state = self.state.withLock { $0 }
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels) \(sample.value)") }
        }
        metric("pgwarden_guard_polls_total", "counter", "Polls of the server.", [("", "\(state.polls)")])
        lines += [
            "# HELP pgwarden_guard_poll_duration_seconds Time per poll, client side.",
            "# TYPE pgwarden_guard_poll_duration_seconds summary",
            "pgwarden_guard_poll_duration_seconds_sum \(state.pollSeconds)",
            "pgwarden_guard_poll_duration_seconds_count \(state.polls)",
        ]
        metric(
            "pgwarden_guard_lock_waits",
            "gauge",
            "Sessions waiting on a heavyweight lock at the last poll.",
            [("", "\(state.lockWaits)")]
        )
        metric(
            "pgwarden_guard_longest_wait_seconds",
            "gauge",
            "The longest current lock wait at the last poll.",
            [("", "\(state.longestWaitSeconds)")]
        )
        metric(
            "pgwarden_guard_actions_total",
            "counter",
            "Policy decisions carried out, by rule, action and outcome.",
            state.actions.sorted { $0.key < $1.key }.map { key, count in
                (
                    labels:
                        "{rule=\(Self.quoted(key.rule)),action=\(Self.quoted(key.action)),outcome=\(Self.quoted(key.outcome))}",
                    value: "\(count)"
                )
            }
        )
        metric(
            "pgwarden_guard_reconnects_total",
            "counter",
            "Reconnections after the server went away.",
            [("", "\(state.reconnects)")]
        )
        metric(
            "pgwarden_guard_connected",
            "gauge",
            "1 while connected to the server.",
            [("", state.connected ? "1" : "0")]
        )
        return lines.joined(separator: "\n") + "\n"
    }

    /// A label value, escaped as the exposition format wants.
    private static func quoted(_ value: String) -> String {
        "\""
            + value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            .replacing("\n", with: "\\n") + "\""
    }
}
