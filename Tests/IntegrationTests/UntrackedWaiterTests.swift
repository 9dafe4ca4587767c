import LockInspection
import Postgres
import TestSupport
import Testing

/// Waiters with `track_activities` off ("disabled" in pg_stat_activity): they report no transaction
/// start, which the cheap poll passes idle backends over on.
extension LockInspectorTests {
    @Test(
        "a waiter whose role starts its sessions with track_activities off: the cheap poll finds it, and so does the hint from another database"
    )
    func untrackedRoleWaiter() async throws {
        try await ScratchDatabase.with { database in
            let admin = try await TestCluster.administrator()
            let role = TestCluster.uniqueName("untracked")
            _ = try await admin.query("CREATE ROLE \"\(role)\" LOGIN")
            // Set by a superuser for the role; no deadlock check may fall inside this test's single poll.
            _ = try await admin.query("ALTER ROLE \"\(role)\" SET track_activities = off")
            _ = try await admin.query("ALTER ROLE \"\(role)\" SET deadlock_timeout = '1h'")
            let holder = try await database.session("holder")
            _ = try await holder.query("SELECT pg_advisory_lock(4243)")
            let observer = try await database.session("observer")
            let untracked = try await database.session("untracked", user: role)
            let setting = try await untracked.query("SELECT current_setting('track_activities') AS value")
            #expect(try setting.rows[0].decode(String.self, "value") == "off")
            let untrackedPID = await untracked.backendPID
            let waiter = Task { _ = try await untracked.query("SELECT pg_advisory_lock(4243)") }
            try await database.waitUntilWaiting(untrackedPID, observer: observer)
            let state = try await observer.query("SELECT state FROM pg_stat_activity WHERE pid = $1", [untrackedPID])
            #expect(try state.rows.first?.decode(String.self, "state") == "disabled")

            let inspector = try await database.inspector()
            #expect(inspector.role.seesTransactionStarts)
            let snapshot = try await inspector.poll()

            #expect(snapshot.waits.map(\.pid) == [untrackedPID])
            #expect(snapshot.wait(of: untrackedPID)?.blockedBy == [await holder.backendPID])
            try await ScratchDatabase.with { other in
                let elsewhere = try await other.inspector().waitsInOtherDatabases()
                // Other tests running beside this one have waits of their own, in databases of their own.
                #expect(elsewhere.first { $0.database == database.name }?.count == 1)
            }
            _ = try await holder.query("SELECT pg_advisory_unlock(4243)")
            try await waiter.value
            await untracked.close()
            await inspector.connection.close()
            _ = try await admin.query("DROP ROLE \"\(role)\"")
            await admin.close()
        }
    }

    @Test(
        "a superuser's own SET track_activities = off in a session: a single look, which reads pg_locks, finds its wait"
    )
    func untrackedSessionWaiter() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let reader = try await database.idleInTransactionReader()
            let observer = try await database.session("observer")
            let untracked = try await database.session("untracked")
            _ = try await untracked.query("SET track_activities = off")
            let untrackedPID = await untracked.backendPID
            let alter = Task { _ = try await untracked.query("ALTER TABLE t ADD COLUMN c int") }
            try await database.waitUntilWaiting(untrackedPID, observer: observer)

            let inspector = try await database.inspector()
            let snapshot = try await inspector.pollReadingLocks()

            #expect(snapshot.waits.map(\.pid) == [untrackedPID])
            #expect(snapshot.wait(of: untrackedPID)?.blockedBy == [await reader.backendPID])
            _ = try await reader.query("ROLLBACK")
            try await alter.value
            await inspector.connection.close()
        }
    }
}
