import Foundation
import Postgres
import TestSupport
import Testing

/// Adversarial cases of `[preflight]`: what may change between the forecast and the terminate just before
/// attempt 1. The window between them is widened with a reload
/// command that marks its start and then takes 5 s, as a slow uWSGI reload does (2 s was too short for a loaded CI
/// machine to act in).
extension UpgradeForecastTests {
    /// Runs `pgwarden upgrade` of the Alembic fixture with `policy`, and `during` once the reload (which comes
    /// after the forecast and before the preflight terminate) has started.
    func upgradeWithSlowReload(
        _ database: ScratchDatabase,
        policy: String,
        during: () async throws -> Void
    ) async throws -> PGWardenCommand.Output {
        let marker = NSTemporaryDirectory() + "pgwarden-adv-reload-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let run = Task {
            try await self.upgrade(
                database,
                ["--policy", policy, "--reload-command", "sh -c 'touch \(marker); sleep 5'", "--max-lock-wait", "20s"],
                Self.alembic + ["upgrade", "head"]
            )
        }
        try await eventually("the reload has started") { FileManager.default.fileExists(atPath: marker) }
        try await during()
        return try await run.value
    }

    @Test(
        "[preflight] a reader that rolled back to a savepoint after the forecast holds no lock any more: it is not terminated"
    )
    func preflightSparesReaderThatReleasedItsLock() async throws {
        try await ScratchDatabase.with { database in
            try await prepared(database)
            let reader = try await database.session("monthly-report")
            _ = try await reader.query("BEGIN")
            _ = try await reader.query("SAVEPOINT s")
            _ = try await reader.query("SELECT count(*) FROM orders")
            let observer = try await database.session("observer")
            let readerPID = await reader.backendPID
            try await Self.waitUntilTransactionOlder(than: 300, readerPID, observer: observer)
            let policy = try Self.policy("[preflight]\nterminate_idle_in_transaction = \"200ms\"")
            let output = try await upgradeWithSlowReload(database, policy: policy) {
                // Same transaction, same state ('idle in transaction'), but the AccessShareLock on orders is gone.
                _ = try await reader.query("ROLLBACK TO SAVEPOINT s")
                let held = try await observer.query(
                    "SELECT 1 FROM pg_locks WHERE pid = $1 AND relation = 'orders'::regclass",
                    [readerPID]
                )
                #expect(held.rows.isEmpty)
            }
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            #expect(
                !output.standardOutput.contains("[preflight] terminated pid \(readerPID)")
                    && output.standardOutput.contains(
                        "[preflight] pid \(readerPID) not terminated (changed): it ran a statement since it was judged"
                    ),
                Comment(rawValue: output.standardOutput)
            )
            _ = try await reader.query("SELECT 1")  // still there: it held nothing the migration needed
            await reader.close()
            await observer.close()
        }
    }
}
