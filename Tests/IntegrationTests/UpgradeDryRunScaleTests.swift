import Foundation
import TestSupport
import Testing

/// `upgrade --dry-run` grows linearly with the number of sets of a deployment file (it asked a scan of every set
/// at every set: 36 s for 3,000 sets under load, 20 times 300's).
@Suite("Dry run at scale", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct UpgradeDryRunScaleTests {
    func dryRun(_ count: Int, _ database: ScratchDatabase) async throws -> Duration {
        let base = NSTemporaryDirectory() + "pgwarden-scale-" + UUID().uuidString
        defer {
            try? FileManager.default.removeItem(atPath: base + ".toml")
            try? FileManager.default.removeItem(atPath: base)
        }
        let text = (1...count).map {
            "[[workers]]\nkind = \"command\"\npause = [\"/bin/true\", \"pause-\($0)\"]\nresume = [\"/bin/true\", \"resume-\($0)\"]\n"
        }
        try text.joined(separator: "\n").write(toFile: base + ".toml", atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        let run = try await PGWardenCommand.run([
            "upgrade", "--dsn", database.connectionString, "--config", base + ".toml", "--state-dir", base,
            "--no-interactive", "--dry-run", "--", "/bin/true",
        ])
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("workers[\(count)] (command /bin/true pause-\(count))"))
        return elapsed
    }

    @Test("3,000 sets take less than 12 times as long as 300 (it was over 20 times)")
    func linear() async throws {
        try await ScratchDatabase.with { database in
            let small = try await dryRun(300, database)
            let large = try await dryRun(3_000, database)
            print("dry run: 300 sets \(small), 3,000 sets \(large)")
            #expect(large < small * 12, "300 sets: \(small); 3,000 sets: \(large)")
        }
    }
}
