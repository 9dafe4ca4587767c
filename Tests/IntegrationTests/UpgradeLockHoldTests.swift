import Foundation
import Postgres
import TestSupport
import Testing

/// The outage a migration causes by holding its own lock, when it never waits: in the log and the report's
/// `lock_holds` (in the serialized upgrade suite: the runs share one crontab user).
extension UpgradeTests {
    @Test(
        "a migration that holds AccessExclusiveLock, never waiting: the reader queued behind it is in the log and lock_holds"
    )
    func lockHoldReported() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let psql = (ProcessInfo.processInfo.environment["PGWARDEN_PG_BIN"] ?? "/usr/bin") + "/psql"
            let run = try RunningCommand(
                fixture.arguments(["--request-timeout", "30s"]) + [
                    "--", psql, "-X", "-v", "ON_ERROR_STOP=1", "-d", "dbname=\(database.name)",
                    "-c", "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;",
                ]
            )
            defer { run.kill() }
            let observer = try await database.session("observer")
            try await eventually("the migration holds its lock", timeout: .seconds(60)) {
                let rows = try await observer.query(
                    """
                    SELECT 1 FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation
                    WHERE c.relname = 'orders' AND l.mode = 'AccessExclusiveLock' AND l.granted
                    """
                )
                return !rows.rows.isEmpty
            }
            let reader = try await database.startBlockedStatement("SELECT count(*) FROM orders", "web")
            try await run.waitForStandardOutput("holds AccessExclusiveLock on public.orders: 1 session queued")
            let status = try await run.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            try await reader.task.value
            #expect(
                run.standardOutput.contains("nobody queues behind the migration's AccessExclusiveLock on public.orders")
            )

            let report = try fixture.report()
            #expect((report["lock_waits"] as? [Any])?.isEmpty == true)
            let holds = try #require(report["lock_holds"] as? [[String: Any]], "\(report)")
            #expect(holds.count == 1, "\(holds)")
            #expect(holds.first?["relation"] as? String == "public.orders")
            #expect(holds.first?["mode"] as? String == "AccessExclusiveLock")
            #expect((holds.first?["queued_max"] as? Int ?? 0) >= 1)
            #expect((holds.first?["oldest_wait_seconds"] as? Double ?? 0) > 0.5, "\(holds)")
            await observer.close()
        }
    }
}
