import WaitGraph

/// A backend session as pgwarden knows it: a pid alone is not a session, since pids are reused.
package struct SessionKey: Sendable, Hashable, CustomStringConvertible {
    /// The backend's pid.
    package var pid: Int32
    /// `backend_start` as PostgreSQL prints it; `nil` when the role cannot read it.
    package var backendStart: String?

    /// Creates a key.
    package init(pid: Int32, backendStart: String?) {
        self.pid = pid
        self.backendStart = backendStart
    }

    /// `pid 123 (started 2026-…)`.
    package var description: String {
        "pid \(pid)" + (backendStart.map { " (started \($0))" } ?? "")
    }
}

/// What a signal must still find to be sent: the session as it was judged.
package struct SessionIdentity: Sendable, Equatable {
    /// The session.
    package var key: SessionKey
    /// `xact_start` as judged; checked only when ``checksTransaction``.
    package var xactStart: String?
    /// `state` as judged; checked only when ``checksTransaction``.
    package var state: String?
    /// Whether the decision depended on the session's transaction or state (a rule about a
    /// state, a transaction age or a query): then a commit since the snapshot stops the signal.
    package var checksTransaction: Bool
    /// `query_start` as judged, or `nil` when not checked. When given (and ``checksTransaction``), any
    /// statement since the snapshot stops the signal, even one that leaves the session idle in the same
    /// transaction, such as `ROLLBACK TO SAVEPOINT`, which releases the locks taken after the savepoint.
    package var queryStart: String?

    /// Creates an identity.
    package init(
        key: SessionKey,
        xactStart: String?,
        state: String?,
        checksTransaction: Bool,
        queryStart: String? = nil
    ) {
        self.key = key
        self.xactStart = xactStart
        self.state = state
        self.checksTransaction = checksTransaction
        self.queryStart = queryStart
    }

    /// The identity of a session as `activity` shows it.
    package init(pid: Int32, activity: SessionActivity?, checksTransaction: Bool) {
        self.init(
            key: SessionKey(pid: pid, backendStart: activity?.backendStart),
            xactStart: activity?.xactStart,
            state: activity?.state,
            checksTransaction: checksTransaction
        )
    }

    /// The backend's pid.
    package var pid: Int32 { key.pid }
}

/// What to send.
package enum SignalAction: String, Sendable, Equatable, CaseIterable {
    /// `pg_cancel_backend`: cancel the current statement; the session and its transaction stay.
    case cancel
    /// `pg_terminate_backend`: end the session; its transaction rolls back and its locks go.
    case terminate
}

/// A signal to send only if the session is still the one judged.
package struct SignalRequest: Sendable, Equatable {
    /// What to send.
    package var action: SignalAction
    /// The session as judged.
    package var target: SessionIdentity
    /// When set, the session must still block this waiter.
    package var waiter: Int32?

    /// Creates a request.
    package init(action: SignalAction, target: SessionIdentity, waiter: Int32? = nil) {
        self.action = action
        self.target = target
        self.waiter = waiter
    }
}

extension SessionActivity {
    /// The session's key, given its pid.
    package func key(pid: Int32) -> SessionKey {
        SessionKey(pid: pid, backendStart: backendStart)
    }
}
