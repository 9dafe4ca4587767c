import Foundation
import TestSupport
import Testing

extension UpgradeTests {
    @Test(
        "a second upgrade on a crontab another pause holds names that pause and its state directory (it said --match matches no job line)"
    )
    func crontabPausedElsewhere() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let other = NSTemporaryDirectory() + "pgwarden-other-state-" + UUID().uuidString
            let paused = try await PGWardenCommand.run([
                "workers", "pause", "--match", "app-cli", "--user", fixture.user, "--state-dir", other,
            ])
            #expect(paused.status == 0, "\(paused.standardError)")

            let result = try await PGWardenCommand.run(fixture.arguments() + ["--", "/bin/true"])

            #expect(result.status != 0)
            #expect(result.standardError.contains("already holds lines paused by pause"), "\(result.standardError)")
            #expect(result.standardError.contains("state directory \(other)"), "\(result.standardError)")
            #expect(!result.standardError.contains("matches no job line"))
            let resumed = try await PGWardenCommand.run(["workers", "resume", "--state-dir", other])
            #expect(resumed.status == 0, "\(resumed.standardError)")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
        }
    }
}

extension UpgradeTests {
    @Test("a prepared transaction that blocks the migration is named by its gid in the run log, not as pid 0")
    func preparedTransactionBlocks() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let gid = TestCluster.uniqueName("nightly-batch")
            let preparer = try await database.session("batch")
            _ = try await preparer.query("BEGIN")
            _ = try await preparer.query("SELECT count(*) FROM orders")
            _ = try await preparer.query("PREPARE TRANSACTION '\(gid)'")
            let run = try RunningCommand(fixture.arguments() + fixture.migration)
            defer { run.kill() }
            try await run.waitForStandardOutput("waits for AccessExclusiveLock on relation public.orders")
            try await run.waitForStandardOutput("blocked by prepared transaction '\(gid)' (pid 0")
            _ = try await preparer.query("ROLLBACK PREPARED '\(gid)'")
            #expect(try await run.waitForExit(timeout: .seconds(60)) == 0, "\(run.standardOutput)")
            // The forecast's own "now:" line (Sources/Forecast, being rewritten elsewhere) is not this test's.
            let monitorLines = run.standardOutput.split(separator: "\n").filter { !$0.contains("] forecast:") }
            #expect(!monitorLines.contains { $0.contains("(?, )") || $0.contains("blocked by pid 0") })
            await preparer.close()
        }
    }
}
