import WardenSupport

/// One session as the server reported it in a poll: a waiter, a blocker, or both.
///
/// This is the raw input of ``LockSnapshot/init(observing:takenAt:databaseOID:)``;
/// the effectful poll decodes it from `sql/lock_waits.sql`.
package struct ObservedSession: Sendable, Equatable {
    /// The backend's pid; `0` for a prepared transaction.
    package var pid: Int32
    /// The parallel-query leader's pid when this backend is a parallel worker.
    package var leaderPID: Int32?
    /// The lock this session waits for, when it waits.
    package var request: LockRequest?
    /// What `pg_stat_activity` says of the session; `nil` when it has gone.
    package var activity: SessionActivity?
    /// For pid `0`: the prepared transaction's gid.
    package var preparedGID: String?
    /// For pid `0`: the waiter this prepared transaction blocks.
    package var preparedWaiter: Int32?

    /// Creates an observation.
    package init(
        pid: Int32,
        leaderPID: Int32? = nil,
        request: LockRequest? = nil,
        activity: SessionActivity? = nil,
        preparedGID: String? = nil,
        preparedWaiter: Int32? = nil
    ) {
        self.pid = pid
        self.leaderPID = leaderPID
        self.request = request
        self.activity = activity
        self.preparedGID = preparedGID
        self.preparedWaiter = preparedWaiter
    }
}

/// An ungranted heavyweight-lock request.
package struct LockRequest: Sendable, Equatable {
    /// The sessions that block it, as `pg_blocking_pids` reports them (`0`: a prepared transaction).
    package var blockedBy: [Int32]
    /// How long it has waited, in seconds.
    package var waitingSeconds: Double
    /// Whether ``waitingSeconds`` comes from `pg_locks.waitstart` (PostgreSQL 14+) rather than `state_change`.
    package var exactWaitStart: Bool
    /// The lock it wants.
    package var lock: LockTarget

    /// Creates a request.
    package init(blockedBy: [Int32], waitingSeconds: Double, exactWaitStart: Bool = true, lock: LockTarget) {
        self.blockedBy = blockedBy
        self.waitingSeconds = waitingSeconds
        self.exactWaitStart = exactWaitStart
        self.lock = lock
    }
}

/// A lockable object and the mode wanted on it, as `pg_locks` describes it.
package struct LockTarget: Sendable, Equatable {
    /// `relation`, `transactionid`, `tuple`, `advisory`, `object`, …
    package var locktype: String
    /// `AccessExclusiveLock`, `ShareLock`, …
    package var mode: String
    /// The relation as `schema.name` (or its oid when it lives in another database).
    package var relation: String?
    /// The other parts of the lock tag that are set, by their `pg_locks` column name.
    package var details: [String: String]

    /// Creates a lock target.
    package init(locktype: String, mode: String, relation: String? = nil, details: [String: String] = [:]) {
        self.locktype = locktype
        self.mode = mode
        self.relation = relation
        self.details = details
    }
}

/// What `pg_stat_activity` says of a session.
package struct SessionActivity: Sendable, Equatable {
    package var databaseOID: UInt32?
    package var state: String?
    package var waitEventType: String?
    package var waitEvent: String?
    package var xactSeconds: Double?
    package var stateSeconds: Double?
    package var usename: String?
    package var datname: String?
    package var applicationName: String?
    package var backendType: String?
    /// The query text with its password literals masked (``QueryTextRedaction``), however it is set:
    /// every output (text, JSON, audit log, run report, status line) shows this.
    package var query: String? { didSet { query = query.map(QueryTextRedaction.masked) } }
    /// `backend_start` as PostgreSQL prints it: with the pid, the session's identity.
    package var backendStart: String?
    /// `xact_start` as PostgreSQL prints it: which transaction the session is in.
    package var xactStart: String?
    /// The client's address as the server sees it (`client_addr`); `nil` for a Unix socket.
    package var clientAddress: String?
    /// The client's port (`client_port`); `-1` for a Unix socket.
    package var clientPort: Int32?

    /// Creates an activity record.
    package init(
        databaseOID: UInt32? = nil,
        state: String? = nil,
        waitEventType: String? = nil,
        waitEvent: String? = nil,
        xactSeconds: Double? = nil,
        stateSeconds: Double? = nil,
        usename: String? = nil,
        datname: String? = nil,
        applicationName: String? = nil,
        backendType: String? = nil,
        query: String? = nil,
        backendStart: String? = nil,
        xactStart: String? = nil,
        clientAddress: String? = nil,
        clientPort: Int32? = nil
    ) {
        self.databaseOID = databaseOID
        self.state = state
        self.waitEventType = waitEventType
        self.waitEvent = waitEvent
        self.xactSeconds = xactSeconds
        self.stateSeconds = stateSeconds
        self.usename = usename
        self.datname = datname
        self.applicationName = applicationName
        self.backendType = backendType
        self.query = query.map(QueryTextRedaction.masked)
        self.backendStart = backendStart
        self.xactStart = xactStart
        self.clientAddress = clientAddress
        self.clientPort = clientPort
    }
}
