import WaitGraph

/// A backend session as pgwarden knows it: a pid alone is not a session, since pids are reused.
public struct SessionKey: Sendable, Hashable, CustomStringConvertible {
    /// The backend's pid.
    public var pid: Int32
    /// `backend_start` as PostgreSQL prints it; `nil` when the role cannot read it.
    public var backendStart: String?

    /// Creates a key.
    public init(pid: Int32, backendStart: String?) {
        self.pid = pid
        self.backendStart = backendStart
    }

    /// `pid 123 (started 2026-…)`.
    public var description: String {
        "pid \(pid)" + (backendStart.map { " (started \($0))" } ?? "")
    }
}

/// What a signal must still find to be sent: the session as it was judged.
public struct SessionIdentity: Sendable, Equatable {
    /// The session.
    public var key: SessionKey
    /// `xact_start` as judged; checked only when ``checksTransaction``.
    public var xactStart: String?
    /// `state` as judged; checked only when ``checksTransaction``.
    public var state: String?
    /// Whether the decision depended on the session's transaction or state (a rule about a
    /// state, a transaction age or a query): then a commit since the snapshot stops the signal.
    public var checksTransaction: Bool
    /// `query_start` as judged, or `nil` when not checked. When given (and ``checksTransaction``), any
    /// statement since the snapshot stops the signal, even one that leaves the session idle in the same
    /// transaction, such as `ROLLBACK TO SAVEPOINT`, which releases the locks taken after the savepoint.
    public var queryStart: String?

    /// Creates an identity.
    public init(
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
    public init(pid: Int32, activity: SessionActivity?, checksTransaction: Bool) {
        self.init(
            key: SessionKey(pid: pid, backendStart: activity?.backendStart),
            xactStart: activity?.xactStart,
            state: activity?.state,
            checksTransaction: checksTransaction
        )
    }

    /// The backend's pid.
    public var pid: Int32 { key.pid }
}

/// What to send.
public enum SignalAction: String, Sendable, Equatable, CaseIterable {
    /// `pg_cancel_backend`: cancel the current statement; the session and its transaction stay.
    case cancel
    /// `pg_terminate_backend`: end the session; its transaction rolls back and its locks go.
    case terminate
}

/// A signal to send only if the session is still the one judged.
public struct SignalRequest: Sendable, Equatable {
    /// What to send.
    public var action: SignalAction
    /// The session as judged.
    public var target: SessionIdentity
    /// When set, the session must still block this waiter.
    public var waiter: Int32?

    /// Creates a request.
    public init(action: SignalAction, target: SessionIdentity, waiter: Int32? = nil) {
        self.action = action
        self.target = target
        self.waiter = waiter
    }
}

extension SessionActivity {
    /// The session's key, given its pid.
    public func key(pid: Int32) -> SessionKey {
        SessionKey(pid: pid, backendStart: backendStart)
    }
}
