import Postgres

/// Real blocking situations, each held by real client sessions.
extension ScratchDatabase {
    /// Creates table `name` with a few rows.
    package func createTable(_ name: String = "t") async throws {
        let session = try await self.session()
        _ = try await session.query("CREATE TABLE \(name) (id int PRIMARY KEY, v int)")
        _ = try await session.query("INSERT INTO \(name) SELECT g, g FROM generate_series(1, 10) AS g")
        await session.close()
    }

    /// A session that read `table` in a transaction and now sits idle in it, holding AccessShareLock.
    package func idleInTransactionReader(of table: String = "t", _ applicationName: String = "reader") async throws
        -> Connection
    {
        let session = try await self.session(applicationName)
        _ = try await session.query("BEGIN")
        _ = try await session.query("SELECT count(*) FROM \(table)")
        return session
    }

    /// Starts `sql` on a new session without waiting for it: it will block on a lock.
    /// Returns the session's pid and the task that finishes when the statement does.
    ///
    /// `checkingDeadlocks: false` puts the waiter's deadlock check past the test's end: while the
    /// check runs, the waiter reads no wait event (or LWLock/LockManager) for an instant, which a
    /// test of a single cheap poll must not meet by chance.
    package func startBlockedStatement(
        _ sql: String,
        _ applicationName: String = "waiter",
        checkingDeadlocks: Bool = true
    ) async throws -> (pid: Int32, session: Connection, task: Task<Void, any Error>) {
        let session = try await self.session(applicationName)
        let pid = await session.backendPID
        if !checkingDeadlocks { _ = try await session.query("SET deadlock_timeout = '1h'") }
        let task = Task {
            _ = try await session.query(sql)
        }
        return (pid, session, task)
    }

    /// Waits until `pid` waits on a heavyweight lock, as the server sees it.
    ///
    /// When it never does, the error says what the server shows of the session instead.
    package func waitUntilWaiting(_ pid: Int32, observer: Connection) async throws {
        do {
            // A long bound costs a passing run nothing. Under the whole suite on two cores, CI once saw a
            // statement not reach the server within 15 s (each blocked libpq call holds one of the 255
            // threads libdispatch gives serial queues, and the suite holds many such calls at once).
            try await eventually("pid \(pid) waits on a lock", timeout: .seconds(60)) {
                let rows = try await observer.query(
                    "SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted",
                    [pid]
                )
                return !rows.rows.isEmpty
            }
        } catch let error as TestSupportError {
            let rows = try await observer.query(
                """
                SELECT concat_ws(' · ', state, wait_event_type, wait_event, left(query, 80)) AS seen
                FROM pg_stat_activity WHERE pid = $1
                """,
                [pid]
            )
            let seen = try rows.rows.first?.decode(String.self, "seen") ?? "no such session"
            throw TestSupportError("\(error); the server shows pid \(pid) as: \(seen)")
        }
    }

    /// What PostgreSQL itself reports as `pid`'s blockers, to compare pgwarden with.
    package func blockingPIDs(of pid: Int32, observer: Connection) async throws -> [Int32] {
        let rows = try await observer.query("SELECT pg_blocking_pids($1) AS pids", [pid])
        return Array(Set(try rows.rows.first?.decode([Int32].self, "pids") ?? [])).sorted()
    }
}

extension ScratchDatabase {
    /// The classic migration outage: table `t`, a reader idle in transaction on it, and an
    /// `ALTER TABLE t` (named `waiterApplication`) queued behind it, already waiting; with an
    /// observer session to watch from.
    package func alterBehindIdleReader(
        _ waiterApplication: String = "waiter",
        checkingDeadlocks: Bool = true
    ) async throws -> (
        reader: Connection, readerPID: Int32, observer: Connection,
        waiter: (pid: Int32, session: Connection, task: Task<Void, any Error>)
    ) {
        try await createTable()
        let reader = try await idleInTransactionReader()
        let observer = try await session("observer")
        let waiter = try await startBlockedStatement(
            "ALTER TABLE t ADD COLUMN c int",
            waiterApplication,
            checkingDeadlocks: checkingDeadlocks
        )
        try await waitUntilWaiting(waiter.pid, observer: observer)
        return (reader, await reader.backendPID, observer, waiter)
    }
}
