import Foundation
import Postgres
import TestSupport

/// A database at Alembic revision 0001, a test user's crontab with a worker line, a state
/// directory and a report path: what one `pgwarden upgrade` test needs.
struct UpgradeFixture {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let alembic = [
        packageRoot + "/.venv/bin/alembic", "-c", packageRoot + "/Tests/Fixtures/alembic/alembic.ini",
    ]
    static let crontab = """
        MAILTO=ops@example.org
        # the application's workers
        */5 * * * * cd /srv/app && /usr/bin/python3 app-cli process-queue --runforseconds 3540
        0 3 * * * /srv/reports/report-cli nightly
        @reboot /srv/app/bin/notify-boot

        """

    let database: ScratchDatabase
    let user = TestCrontab.upgradeUser
    let stateDirectory = NSTemporaryDirectory() + "pgwarden-upgrade-state-" + UUID().uuidString
    let reportPath = NSTemporaryDirectory() + "pgwarden-upgrade-report-" + UUID().uuidString + ".json"

    /// Brings the database to revision 0001 and installs the crontab.
    static func prepare(_ database: ScratchDatabase) async throws -> UpgradeFixture {
        let result = try await TestCrontab.runOffPool(
            "/usr/bin/env",
            ["PGDATABASE=\(database.name)"] + alembic + ["upgrade", "0001"]
        )
        guard result.status == 0 else { throw TestSupportError("alembic upgrade 0001 failed: \(result.error)") }
        try TestCrontab.install(crontab, for: TestCrontab.upgradeUser)
        return UpgradeFixture(database: database)
    }

    /// `pgwarden upgrade` arguments for this fixture, before `--`.
    func arguments(_ extra: [String] = []) -> [String] {
        [
            "upgrade", "--dsn", database.connectionString, "--pause-workers", "app-cli", "--crontab-user", user,
            "--state-dir", stateDirectory, "--report", reportPath, "--no-interactive",
        ] + extra
    }

    /// The migration command: Alembic, to head.
    var migration: [String] { ["--"] + Self.alembic + ["upgrade", "head"] }

    /// The report written by the run.
    func report() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: reportPath))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// Whether the crontab is now paused by pgwarden.
    func crontabIsPaused() throws -> Bool {
        try TestCrontab.read(user).contains("#pgwarden:paused:")
    }

    /// A policy file terminating idle-in-transaction blockers of the migration after `after`.
    func policy(after: String = "1s") throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-upgrade-policy-" + UUID().uuidString + ".toml"
        try """
        [[rule]]
        name = "idle transactions blocking the migration"
        blocking_for = "\(after)"
        state = ["idle in transaction", "idle in transaction (aborted)"]
        waiter_application_name = "pgwarden-migration*"
        action = "terminate"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
