import Foundation
import LockInspection
import Postgres
import TestSupport
import Testing
import WaitGraph

/// What depends on the server's major, checked on whichever major `scripts/test` started
/// (`PGWARDEN_PG_MAJOR`: 15, 16 and 18 in turn).
@Suite("What depends on the PostgreSQL major", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct ServerVersionTests {
    @Test("the cluster is the major scripts/test asked for, and pgwarden's session reads it")
    func clusterIsTheMajorAskedFor() async throws {
        try await ScratchDatabase.with { database in
            let inspector = try await database.inspector()
            let role = inspector.role
            if let asked = ProcessInfo.processInfo.environment["PGWARDEN_PG_MAJOR"] {
                #expect(String(role.serverMajor) == asked)
            }
            #expect(role.serverVersionText == (try await TestCluster.serverVersion()))
            #expect(role.hasWaitStart)
            // pg_use_reserved_connections and reserved_connections exist from 16.
            #expect((role.usesReservedConnections != nil) == (role.serverMajor >= 16))
            #expect((role.reservedConnections != nil) == (role.serverMajor >= 16))
            #expect(role.superuser && role.connectsWhenSlotsRunOut)
            await inspector.connection.close()
        }
    }

    /// PostgreSQL ≤ 15 numbers the set 1…N by position in the backend status snapshot; 16 returns
    /// each backend's BackendId, 17 and later its ProcNumber (from 0). From 16 on, the auxiliary
    /// processes (checkpointer, background writer, WAL writer) come after the client slots. In every major the accessors take the same number the set returns.
    @Test("the backend id set pairs with its accessors, numbered as this major numbers it")
    func backendIDSetPairsWithAccessors() async throws {
        try await ScratchDatabase.with { database in
            // Sessions that come and go leave gaps in the numbering from 16 on.
            var passing: [Connection] = []
            for index in 0..<4 { passing.append(try await database.session("passing-\(index)")) }
            let staying = try await database.session("staying")
            for session in passing { await session.close() }
            let observer = try await database.session("observer")
            try await eventually("the passing sessions are gone") {
                try await observer.query(
                    """
                    SELECT 1 FROM pg_stat_activity
                    WHERE application_name LIKE 'passing-%' AND datname = current_database()
                    """
                ).rows.isEmpty
            }

            let rows = try await observer.query(
                """
                SELECT id, pg_stat_get_backend_pid(id) AS pid,
                       current_setting('max_connections')::int AS max_connections,
                       current_setting('server_version_num')::int AS version,
                       (SELECT array_agg(pid) FROM pg_stat_activity) AS activity_pids,
                       (SELECT array_agg(pid) FROM pg_stat_activity
                        WHERE backend_type IN ('checkpointer', 'background writer', 'walwriter')) AS auxiliary_pids
                FROM pg_stat_get_backend_idset() AS id
                ORDER BY id
                """
            ).rows
            let ids = try rows.map { try $0.require(Int.self, "id") }
            let pids = try rows.map { try $0.decode(Int32.self, "pid") }
            let first = try #require(rows.first)
            let activityPIDs = try #require(try first.decode([Int32].self, "activity_pids"))
            #expect(pids.allSatisfy { $0 != nil }, "an id of the set that its accessor does not know")
            #expect(Set(pids.compactMap { $0 }) == Set(activityPIDs))
            #expect(pids.count == activityPIDs.count)
            #expect(pids.contains(await staying.backendPID))

            let version = try first.require(Int.self, "version")
            let maxConnections = try first.require(Int.self, "max_connections")
            let auxiliary = Set(try first.decode([Int32].self, "auxiliary_pids") ?? [])
            let auxiliaryIDs = zip(ids, pids).filter { auxiliary.contains($0.1 ?? -1) }.map(\.0)
            if version < 160000 {
                #expect(ids == Array(1...ids.count), "positions in the snapshot")
            } else {
                #expect(!auxiliaryIDs.isEmpty)
                #expect(auxiliaryIDs.allSatisfy { $0 >= maxConnections }, "auxiliary processes after the client slots")
                #expect(ids.allSatisfy { $0 >= (version < 170000 ? 1 : 0) })
            }
            await staying.close()
            await observer.close()
        }
    }

    @Test("the idle poll finds a waiter whose backend id is not its position, on every major")
    func idlePollFindsWaiterAfterGaps() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            var passing: [Connection] = []
            for index in 0..<3 { passing.append(try await database.session("passing-\(index)")) }
            let reader = try await database.idleInTransactionReader()
            for session in passing { await session.close() }
            let observer = try await database.session("observer")
            let waiter = try await database.startBlockedStatement(
                "ALTER TABLE t ADD COLUMN c int",
                checkingDeadlocks: false
            )
            try await database.waitUntilWaiting(waiter.pid, observer: observer)

            // Both ways of reading the set: passing over idle backends, and asking each.
            let inspector = try await database.inspector()
            var askingEach = inspector.role
            askingEach.tracksActivities = false
            for role in [inspector.role, askingEach] {
                let snapshot = try await LockInspector(connection: inspector.connection, role: role).poll()
                #expect(snapshot.waits.map(\.pid) == [waiter.pid])
                #expect(snapshot.wait(of: waiter.pid)?.blockedBy == [await reader.backendPID])
            }
            await inspector.connection.close()
            _ = try await reader.query("ROLLBACK")
            try await waiter.task.value
            await observer.close()
        }
    }
}

extension ServerVersionTests {
    @Test("alembic_version.sql reads every revision exactly, on a server built without libxml too")
    func alembicVersionNeedsNoXML() async throws {
        try await ScratchDatabase.with { database in
            let query = try String(
                contentsOfFile: UpgradeFixture.packageRoot + "/sql/alembic_version.sql",
                encoding: .utf8
            )
            let session = try await database.session()
            #expect(try await session.query(query).rows[0].decode(String.self, "version") == nil)
            _ = try await session.query("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
            #expect(try await session.query(query).rows[0].decode(String.self, "version") == nil)
            _ = try await session.query(
                #"INSERT INTO alembic_version VALUES ('0002'), ('1a2b_Add-X'), ('it''s \ odd')"#
            )
            let expected = try await session.query(
                "SELECT string_agg(version_num, ',' ORDER BY version_num) AS v FROM alembic_version"
            ).rows[0].require(String.self, "v")
            #expect(expected.contains("it's \\ odd"))
            #expect(try await session.query(query).rows[0].decode(String.self, "version") == expected)
            await session.close()
        }
    }

    @Test("below PostgreSQL 14 (no pg_locks.waitstart) waits are timed from state_change, and pgwarden says so")
    func waitStartFallbackIsStated() async throws {
        try await ScratchDatabase.with { database in
            let (reader, _, _, alter) = try await database.alterBehindIdleReader()
            let inspector = try await database.inspector()
            #expect(!inspector.role.limitations.contains { $0.contains("waitstart") })
            var thirteen = inspector.role
            thirteen.serverVersion = 130_012
            #expect(
                thirteen.limitations.contains {
                    $0
                        == "PostgreSQL 13 has no pg_locks.waitstart (14+): wait times are measured from the waiter's state_change"
                }
            )
            let exact = try await inspector.pollReadingLocks()
            let approximate = try await LockInspector(connection: inspector.connection, role: thirteen)
                .pollReadingLocks()
            #expect(exact.wait(of: alter.pid)?.exactWaitStart == true)
            let fallback = try #require(approximate.wait(of: alter.pid))
            #expect(!fallback.exactWaitStart && fallback.waitingSeconds >= 0)
            let renderer = LockForestRenderer(width: 200)
            #expect(renderer.render(approximate, scope: database.name).contains("(wait times from state_change)"))
            #expect(!renderer.render(exact, scope: database.name).contains("state_change"))
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
            await inspector.connection.close()
        }
    }
}
