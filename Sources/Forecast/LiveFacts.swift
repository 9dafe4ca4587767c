import WardenSupport

/// A lock another session holds or waits for on a relation, read from `pg_locks` in preflight.
package struct LiveLock: Sendable, Equatable {
    /// The relation, `schema.name`.
    package var relation: String
    package var pid: Int32
    package var mode: LockMode
    /// Whether it holds the lock (else it waits for it).
    package var granted: Bool
    /// `pg_stat_activity.state`, such as `idle in transaction`.
    package var state: String?
    /// How long its transaction has been open.
    package var transactionSeconds: Double?
    package var applicationName: String?
    /// Its current or last query, its password literals masked (``QueryTextRedaction``).
    package var query: String? { didSet { query = query.map(QueryTextRedaction.masked) } }
    /// Who it is, as a signal must find it again: `backend_start` and `xact_start` as PostgreSQL prints
    /// them (`nil` when pgwarden's role cannot read them), its role and its backend type.
    package var identity: LiveSessionIdentity

    package init(
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
        self.query = query.map(QueryTextRedaction.masked)
        self.identity = identity
    }
}

/// What identifies the session behind a ``LiveLock``, beyond its pid.
package struct LiveSessionIdentity: Sendable, Equatable {
    package var backendStart: String?
    package var xactStart: String?
    /// `query_start`: when the session's last statement began; a statement since then changes it.
    package var queryStart: String?
    package var usename: String?
    /// `client backend`, `autovacuum worker`, ….
    package var backendType: String?

    package init(
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
package struct RelationActivity: Sendable, Equatable {
    /// Sequential plus index scans started per second: about the rate of statements that read it.
    package var scansPerSecond: Double
    /// Rows inserted, updated and deleted per second.
    package var rowsWrittenPerSecond: Double

    package init(scansPerSecond: Double, rowsWrittenPerSecond: Double) {
        self.scansPerSecond = scansPerSecond
        self.rowsWrittenPerSecond = rowsWrittenPerSecond
    }
}

/// What the server showed right now: other sessions' locks and each relation's recent activity.
package struct LiveFacts: Sendable, Equatable {
    /// Locks of other sessions on the relations the migration touches.
    package var locks: [LiveLock]
    /// Activity by relation (`schema.name`).
    package var activity: [String: RelationActivity]
    /// How long the activity was sampled over.
    package var samplingSeconds: Double

    package init(locks: [LiveLock] = [], activity: [String: RelationActivity] = [:], samplingSeconds: Double = 0) {
        self.locks = locks
        self.activity = activity
        self.samplingSeconds = samplingSeconds
    }
}
