/// What PostgreSQL returned for one identity-checked signal.
package enum SignalOutcome: Sendable, Equatable {
    /// The server signalled the session (after a terminate: and it has exited).
    case signalled
    /// Signalled, to no effect: a cancel does not end an idle-in-transaction session's transaction.
    case ineffective(reason: String)
    /// The pid is now another session, or the session committed, changed state or stopped
    /// blocking since it was judged: nothing was sent. `now` says what it is now.
    case changed(now: String)
    /// No such backend: it has ended.
    case gone
    /// Nothing sent, or the server refused: the SQLSTATE (`42501` for a missing privilege) and its message.
    case failed(sqlstate: String?, reason: String)

    /// The audit's word for it.
    package var name: String {
        switch self {
        case .signalled: "signalled"
        case .ineffective: "ineffective"
        case .changed: "changed"
        case .gone: "gone"
        case .failed: "failed"
        }
    }

    /// The reason or fresh state, when there is one.
    package var detail: String? {
        switch self {
        case .signalled, .gone: nil
        case .ineffective(let reason): reason
        case .changed(let now): now
        case .failed(let sqlstate, let reason): sqlstate.map { "\(reason) (SQLSTATE \($0))" } ?? reason
        }
    }

    /// Whether the signal reached the session (even to no effect).
    package var reachedSession: Bool {
        switch self {
        case .signalled, .ineffective: true
        case .changed, .gone, .failed: false
        }
    }
}
