import Foundation
import LockInspection
import Postgres
import TestSupport
import Testing

/// `pgwarden cancel`, run as an operator runs it, against real blockers.
@Suite("pgwarden cancel", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct CancelTests {
    @Test("cancelling an active blocker's statement releases the waiter")
    func cancelActiveBlocker() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let observer = try await database.session("observer")
            let slow = try await database.startBlockedStatement("SELECT pg_sleep(60) FROM t LIMIT 1", "slow-report")
            try await eventually("the slow statement runs") {
                try await observer.query(
                    "SELECT 1 FROM pg_locks WHERE pid = $1 AND granted AND mode = 'AccessShareLock'",
                    [slow.pid]
                )
                .rows.count > 0
            }
            let alter = try await database.startBlockedStatement("ALTER TABLE t ADD COLUMN c int", "alembic")
            try await database.waitUntilWaiting(alter.pid, observer: observer)

            let result = try await PGWardenCommand.run(["cancel", "--dsn", database.connectionString, String(slow.pid)])

            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.hasPrefix("pid \(slow.pid): statement cancelled (active, query started 20"))
            try await alter.task.value
            let error = await #expect(throws: PostgresError.self) { try await slow.task.value }
            #expect(error?.sqlState == PostgresError.SQLState.queryCanceled)
        }
    }

    @Test("cancelling an idle-in-transaction blocker is reported as ineffective; --terminate frees the waiter")
    func idleInTransaction() async throws {
        try await ScratchDatabase.with { database in
            let (reader, readerPID, observer, alter) = try await database.alterBehindIdleReader("alembic")

            let cancel = try await PGWardenCommand.run([
                "cancel", "--dsn", database.connectionString, String(readerPID),
            ])

            #expect(cancel.status == 0)
            #expect(
                cancel.standardError.hasPrefix(
                    "warning: pid \(readerPID) is idle in transaction: a cancel does not end"
                )
            )
            #expect(cancel.standardError.contains("hint: pgwarden cancel --terminate \(readerPID)"))
            // Still waiting: the cancel did nothing to the reader's transaction.
            #expect(try await database.blockingPIDs(of: alter.pid, observer: observer) == [readerPID])

            let terminate = try await PGWardenCommand.run(
                ["cancel", "--terminate", "--dsn", database.connectionString, String(readerPID)]
            )

            #expect(terminate.status == 0, "\(terminate.standardError)")
            #expect(terminate.standardOutput.hasPrefix("pid \(readerPID): terminated (idle in transaction, query started 20"))
            try await alter.task.value
            let error = await #expect(throws: PostgresError.self) { try await reader.query("SELECT 1") }
            #expect(error?.code == .connectionLost)
        }
    }

    @Test("a pid that is no backend: a one-line error and a non-zero exit")
    func noSuchBackend() async throws {
        try await ScratchDatabase.with { database in
            let result = try await PGWardenCommand.run(["cancel", "--dsn", database.connectionString, "999999"])
            #expect(result.status == 1)
            #expect(
                result.standardError
                    == "error: pid 999999 is not a PostgreSQL backend (no such process, or it has already ended)\n"
            )
        }
    }

    @Test("a role without pg_signal_backend may not signal another role's session, nor a superuser's")
    func missingPrivilege() async throws {
        try await ScratchDatabase.with { database in
            let weak = TestCluster.uniqueName("pgw_weak")
            let other = TestCluster.uniqueName("pgw_other")
            let admin = try await TestCluster.administrator()
            _ = try await admin.query("CREATE ROLE \(weak) LOGIN")
            _ = try await admin.query("CREATE ROLE \(other) LOGIN")
            defer {
                Task {
                    _ = try? await admin.query("DROP ROLE IF EXISTS \(weak)")
                    _ = try? await admin.query("DROP ROLE IF EXISTS \(other)")
                }
            }
            let victim = try await database.session("victim", user: other)
            let victimPID = await victim.backendPID
            let superuser = try await database.session("superuser-session")
            let superuserPID = await superuser.backendPID
            let dsn = database.connectionString + " user=\(weak)"

            let refused = try await PGWardenCommand.run(["cancel", "--terminate", "--dsn", dsn, String(victimPID)])
            let refusedSuperuser = try await PGWardenCommand.run(["cancel", "--dsn", dsn, String(superuserPID)])

            #expect(refused.status == 1)
            #expect(
                refused.standardError
                    == "error: pid \(victimPID): role \(weak) may not signal pid \(victimPID) (role \(other)): it needs pg_signal_backend, or membership in role \(other) (SQLSTATE 42501)\n"
            )
            #expect(refusedSuperuser.status == 1)
            #expect(
                refusedSuperuser.standardError.contains("belongs to superuser postgres: only a superuser may signal it")
            )
            #expect(try await victim.query("SELECT 1").rows.count == 1)  // untouched

            _ = try await admin.query("GRANT pg_signal_backend TO \(weak)")
            let allowed = try await PGWardenCommand.run(["cancel", "--terminate", "--dsn", dsn, String(victimPID)])
            #expect(allowed.status == 0, "\(allowed.standardError)")
            await victim.close()
            await superuser.close()
        }
    }

    @Test("several pids: each reported, non-zero when any failed")
    func severalPIDs() async throws {
        try await ScratchDatabase.with { database in
            let idle = try await database.session("idle")
            let pid = await idle.backendPID
            let result = try await PGWardenCommand.run(
                ["cancel", "--terminate", "--dsn", database.connectionString, String(pid), "999998"]
            )
            #expect(result.status == 1)
            #expect(result.standardOutput.hasPrefix("pid \(pid): terminated (idle, "))
            #expect(result.standardError.contains("error: pid 999998 is not a PostgreSQL backend"))
        }
    }
}
