/// A lock another session holds or waits for on a relation, read from `pg_locks` in preflight.
public struct LiveLock: Sendable, Equatable {
    /// The relation, `schema.name`.
    public var relation: String
    public var pid: Int32
    public var mode: LockMode
    /// Whether it holds the lock (else it waits for it).
    public var granted: Bool
    /// `pg_stat_activity.state`, such as `idle in transaction`.
    public var state: String?
    /// How long its transaction has been open.
    public var transactionSeconds: Double?
    public var applicationName: String?
    /// Its current or last query.
    public var query: String?
    /// Who it is, as a signal must find it again: `backend_start` and `xact_start` as PostgreSQL prints
    /// them (`nil` when pgwarden's role cannot read them), its role and its backend type.
    public var identity: LiveSessionIdentity

    public init(
        relation: String,
        pid: Int32,
        mode: LockMode,
        granted: Bool,
        state: String?,
        transactionSeconds: Double?,
        applicationName: String?,
        query: String?,
        identity: LiveSessionIdentity = LiveSessionIdentity()
    ) {
        self.relation = relation
        self.pid = pid
        self.mode = mode
        self.granted = granted
        self.state = state
        self.transactionSeconds = transactionSeconds
        self.applicationName = applicationName
        self.query = query
        self.identity = identity
    }
}

/// What identifies the session behind a ``LiveLock``, beyond its pid.
public struct LiveSessionIdentity: Sendable, Equatable {
    public var backendStart: String?
    public var xactStart: String?
    /// `query_start`: when the session's last statement began; a statement since then changes it.
    public var queryStart: String?
    public var usename: String?
    /// `client backend`, `autovacuum worker`, ….
    public var backendType: String?

    public init(
        backendStart: String? = nil,
        xactStart: String? = nil,
        queryStart: String? = nil,
        usename: String? = nil,
        backendType: String? = nil
    ) {
        self.backendStart = backendStart
        self.xactStart = xactStart
        self.queryStart = queryStart
        self.usename = usename
        self.backendType = backendType
    }
}

/// How busy a relation is: `pg_stat_user_tables` counters sampled twice.
public struct RelationActivity: Sendable, Equatable {
    /// Sequential plus index scans started per second: about the rate of statements that read it.
    public var scansPerSecond: Double
    /// Rows inserted, updated and deleted per second.
    public var rowsWrittenPerSecond: Double

    public init(scansPerSecond: Double, rowsWrittenPerSecond: Double) {
        self.scansPerSecond = scansPerSecond
        self.rowsWrittenPerSecond = rowsWrittenPerSecond
    }
}

/// What the server showed right now: other sessions' locks and each relation's recent activity.
public struct LiveFacts: Sendable, Equatable {
    /// Locks of other sessions on the relations the migration touches.
    public var locks: [LiveLock]
    /// Activity by relation (`schema.name`).
    public var activity: [String: RelationActivity]
    /// How long the activity was sampled over.
    public var samplingSeconds: Double

    public init(locks: [LiveLock] = [], activity: [String: RelationActivity] = [:], samplingSeconds: Double = 0) {
        self.locks = locks
        self.activity = activity
        self.samplingSeconds = samplingSeconds
    }
}
