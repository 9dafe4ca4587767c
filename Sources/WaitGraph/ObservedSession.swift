/// One session as the server reported it in a poll: a waiter, a blocker, or both.
///
/// This is the raw input of ``LockSnapshot/init(observing:takenAt:databaseOID:)``;
/// the effectful poll decodes it from `sql/lock_waits.sql`.
public struct ObservedSession: Sendable, Equatable {
    /// The backend's pid; `0` for a prepared transaction.
    public var pid: Int32
    /// The parallel-query leader's pid when this backend is a parallel worker.
    public var leaderPID: Int32?
    /// The lock this session waits for, when it waits.
    public var request: LockRequest?
    /// What `pg_stat_activity` says of the session; `nil` when it has gone.
    public var activity: SessionActivity?
    /// For pid `0`: the prepared transaction's gid.
    public var preparedGID: String?
    /// For pid `0`: the waiter this prepared transaction blocks.
    public var preparedWaiter: Int32?

    /// Creates an observation.
    public init(
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
public struct LockRequest: Sendable, Equatable {
    /// The sessions that block it, as `pg_blocking_pids` reports them (`0`: a prepared transaction).
    public var blockedBy: [Int32]
    /// How long it has waited, in seconds.
    public var waitingSeconds: Double
    /// Whether ``waitingSeconds`` comes from `pg_locks.waitstart` (PostgreSQL 14+) rather than `state_change`.
    public var exactWaitStart: Bool
    /// The lock it wants.
    public var lock: LockTarget

    /// Creates a request.
    public init(blockedBy: [Int32], waitingSeconds: Double, exactWaitStart: Bool = true, lock: LockTarget) {
        self.blockedBy = blockedBy
        self.waitingSeconds = waitingSeconds
        self.exactWaitStart = exactWaitStart
        self.lock = lock
    }
}

/// A lockable object and the mode wanted on it, as `pg_locks` describes it.
public struct LockTarget: Sendable, Equatable {
    /// `relation`, `transactionid`, `tuple`, `advisory`, `object`, …
    public var locktype: String
    /// `AccessExclusiveLock`, `ShareLock`, …
    public var mode: String
    /// The relation as `schema.name` (or its oid when it lives in another database).
    public var relation: String?
    /// The other parts of the lock tag that are set, by their `pg_locks` column name.
    public var details: [String: String]

    /// Creates a lock target.
    public init(locktype: String, mode: String, relation: String? = nil, details: [String: String] = [:]) {
        self.locktype = locktype
        self.mode = mode
        self.relation = relation
        self.details = details
    }
}

/// What `pg_stat_activity` says of a session.
public struct SessionActivity: Sendable, Equatable {
    public var databaseOID: UInt32?
    public var state: String?
    public var waitEventType: String?
    public var waitEvent: String?
    public var xactSeconds: Double?
    public var stateSeconds: Double?
    public var usename: String?
    public var datname: String?
    public var applicationName: String?
    public var backendType: String?
    public var query: String?
    /// `backend_start` as PostgreSQL prints it: with the pid, the session's identity.
    public var backendStart: String?
    /// `xact_start` as PostgreSQL prints it: which transaction the session is in.
    public var xactStart: String?
    /// The client's address as the server sees it (`client_addr`); `nil` for a Unix socket.
    public var clientAddress: String?
    /// The client's port (`client_port`); `-1` for a Unix socket.
    public var clientPort: Int32?

    /// Creates an activity record.
    public init(
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
        self.query = query
        self.backendStart = backendStart
        self.xactStart = xactStart
        self.clientAddress = clientAddress
        self.clientPort = clientPort
    }
}
