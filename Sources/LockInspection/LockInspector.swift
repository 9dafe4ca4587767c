import FoundationEssentials
import Logging
import PGWardenSQL
import Postgres
import WaitGraph
import WardenSupport

/// Polls a server for lock waits, as cheaply as the server allows.
///
/// While nothing waits, a poll runs `sql/waiting_backends.sql` alone: it reads no
/// `pg_locks` and calls no `pg_blocking_pids`. Only when a backend waits on a
/// heavyweight lock does it run `sql/lock_waits.sql` to resolve the waits.
package struct LockInspector: Sendable {
    /// Which waits a poll reports.
    package enum Scope: Sendable, Equatable {
        /// The waits of the connection's database.
        case currentDatabase
        /// The waits of every database of the cluster.
        case allDatabases
    }

    /// The session the polls run on.
    package let connection: Connection
    /// What that session's role may see.
    package let role: SessionRole
    /// Which waits a poll reports.
    package let scope: Scope
    private let now: @Sendable () -> Date
    /// The poll's two statements, planned once per session: planning `lock_waits.sql` costs the
    /// server about two thirds of what running it costs.
    private let waitingBackends = PreparedStatement(Queries.waitingBackends)
    private let lockWaits: PreparedStatement

    /// Creates an inspector on an open pgwarden session.
    package init(
        connection: Connection,
        role: SessionRole,
        scope: Scope = .currentDatabase,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.connection = connection
        self.role = role
        self.scope = scope
        self.now = now
        lockWaits = PreparedStatement(Queries.lockWaits(serverVersion: role.serverVersion))
    }

    /// A name for the scope, for people: the database, or "any database".
    package var scopeDescription: String {
        scope == .allDatabases ? "any database" : role.database
    }

    /// One poll of a series: `pg_locks` is read only when a backend's wait event says it waits.
    ///
    /// A waiter running its deadlock check reads no wait event for an instant, and this poll
    /// passes over it; the next poll of the series finds it. A superuser's session that ran
    /// `SET track_activities = off` is passed over on every poll (see `sql/waiting_backends.sql`).
    package func poll() async throws(PostgresError) -> LockSnapshot {
        let takenAt = now()
        let waiting = try await connection.query(waitingBackends, [role.seesTransactionStarts])
        var anyWaiter = false
        for row in waiting.rows where !anyWaiter {
            let database = try row.decode(UInt32.self, "database_oid")
            anyWaiter = databaseOID == nil || database == databaseOID
        }
        guard anyWaiter else { return LockSnapshot(takenAt: takenAt) }
        return try await resolveWaits(takenAt: takenAt)
    }

    /// A single look, with no next poll to catch what a wait event missed: reads `pg_locks` at once.
    ///
    /// For `pgwarden locks` without `--watch`, `guard --once` and the upgrade's preflight.
    package func pollReadingLocks() async throws(PostgresError) -> LockSnapshot {
        try await resolveWaits(takenAt: now())
    }

    private var databaseOID: UInt32? { scope == .allDatabases ? nil : role.databaseOID }

    private func resolveWaits(takenAt: Date) async throws(PostgresError) -> LockSnapshot {
        try Self.snapshot(try await connection.query(lockWaits), takenAt: takenAt, databaseOID: databaseOID)
    }

    /// Decodes the rows of `sql/lock_waits.sql` into the snapshot of `databaseOID` (nil: every database).
    static func snapshot(
        _ result: QueryResult,
        takenAt: Date,
        databaseOID: UInt32?
    ) throws(PostgresError) -> LockSnapshot {
        var sessions: [ObservedSession] = []
        for row in result.rows { sessions.append(try ObservedSession(row)) }
        return LockSnapshot(observing: sessions, takenAt: takenAt, databaseOID: databaseOID)
    }
}

extension UInt32: PostgresDecodable {
    package init?(postgresText: String) { self.init(postgresText) }
}

extension ObservedSession {
    /// Decodes one row of `sql/lock_waits.sql`.
    init(_ row: Row) throws(PostgresError) {
        let pid = try row.require(Int32.self, "pid")
        var request: LockRequest?
        if let locktype = try row.decode(String.self, "locktype") {
            var details: [String: String] = [:]
            for column in ["page", "tuple", "virtualxid", "transactionid", "classid", "objid", "objsubid"] {
                details[column] = try row.text(column)
            }
            request = LockRequest(
                blockedBy: try row.decode([Int32].self, "blocked_by") ?? [],
                waitingSeconds: try row.decode(Double.self, "waiting_seconds") ?? 0,
                exactWaitStart: try row.decode(Bool.self, "exact_wait_start") ?? false,
                lock: LockTarget(
                    locktype: locktype,
                    mode: try row.require(String.self, "mode"),
                    relation: try row.decode(String.self, "relation"),
                    details: details
                )
            )
        }
        var activity: SessionActivity?
        // Without pg_monitor most columns of another role's session read NULL; its pid does not.
        if try row.decode(Int32.self, "activity_pid") != nil {
            activity = SessionActivity(
                databaseOID: try row.decode(UInt32.self, "database_oid"),
                state: try row.decode(String.self, "state"),
                waitEventType: try row.decode(String.self, "wait_event_type"),
                waitEvent: try row.decode(String.self, "wait_event"),
                xactSeconds: try row.decode(Double.self, "xact_seconds"),
                stateSeconds: try row.decode(Double.self, "state_seconds"),
                usename: try row.decode(String.self, "usename"),
                datname: try row.decode(String.self, "datname"),
                applicationName: try row.decode(String.self, "application_name"),
                backendType: try row.decode(String.self, "backend_type"),
                query: try row.decode(String.self, "query"),
                backendStart: try row.decode(String.self, "backend_start"),
                xactStart: try row.decode(String.self, "xact_start"),
                clientAddress: try row.decode(String.self, "client_addr"),
                clientPort: try row.decode(Int32.self, "client_port")
            )
        }
        self.init(
            pid: pid,
            leaderPID: try row.decode(Int32.self, "leader_pid"),
            request: request,
            activity: activity,
            preparedGID: try row.decode(String.self, "prepared_gid"),
            preparedWaiter: try row.decode(Int32.self, "prepared_waiter")
        )
    }
}

extension LockInspector {
    /// Polls every `interval`, at a fixed rate, handing each snapshot to `body`, until the task is cancelled.
    package func watch(
        every interval: Duration,
        clock: ContinuousClock = ContinuousClock(),
        _ body: (LockSnapshot) async throws -> Void
    ) async throws {
        var schedule = FixedRateSchedule(start: clock.now)
        while !Task.isCancelled {
            try await body(try await poll())
            schedule.advance(by: interval, now: clock.now)
            try await Task.sleep(until: schedule.deadline, clock: clock)
        }
    }
}
