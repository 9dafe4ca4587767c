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
