import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden upgrade -- python manage.py migrate`: a real Django project, recognised like Alembic's upgrade.
/// In the serialized upgrade suite: the runs pause the upgrade user's crontab.
extension UpgradeTests {
    /// The upgrade fixture's crontab and state, on a database at `shop 0001_initial`.
    private func djangoFixture(_ database: ScratchDatabase) async throws -> UpgradeFixture {
        try await DjangoFixture.prepare(database)
        try TestCrontab.install(UpgradeFixture.crontab, for: TestCrontab.upgradeUser)
        return UpgradeFixture(database: database)
    }

    @Test(
        "python manage.py migrate: forecast in preflight (RunPython named as not forecast), a blocker terminated by policy, django_migrations before and after"
    )
    func djangoMigrate() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await djangoFixture(database)
            let reader = try await database.idleInTransactionReader(of: "shop_order", "monthly-report")
            let readerPID = await reader.backendPID
            let run = try RunningCommand(
                fixture.arguments(["--policy", try fixture.policy(after: "1s")]) + ["--"] + DjangoFixture.migrate
            )
            let status = try await run.waitForExit(timeout: .seconds(120))
            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            let output = run.standardOutput
            #expect(
                output.contains(
                    "forecast: warning: migration shop.0004_fill_note runs Python code (Raw Python operation), which is not forecast"
                ),
                "\(output)"
            )
            #expect(output.contains("waits for AccessExclusiveLock on relation public.shop_order"), "\(output)")
            #expect(
                output.contains(
                    "django_migrations: applied shop.0002_order_note, shop.0003_order_total_index, shop.0004_fill_note"
                        + " (shop: 0001_initial → 0004_fill_note)"
                ),
                "\(output)"
            )
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            let report = try fixture.report()
            #expect(report["outcome"] as? String == "succeeded")
            let django = try #require(report["django_migrations"] as? [String: Any])
            #expect((django["before"] as? [String: String]) == ["shop": "0001_initial"])
            #expect((django["after"] as? [String: String]) == ["shop": "0004_fill_note"])
            #expect((django["applied"] as? [String]) == DjangoFixture.pending)
            #expect((django["unapplied"] as? [String])?.isEmpty == true)
            let forecast = try #require(report["forecast"] as? [String: Any])
            #expect(
                (forecast["not_forecast"] as? [String])
                    == ["migration shop.0004_fill_note's Raw Python operation (Python code, RunPython)"]
            )
            let wait = try #require((report["lock_waits"] as? [[String: Any]])?.first)
            let blocker = try #require((wait["blockers"] as? [[String: Any]])?.first)
            #expect(blocker["pid"] as? Int == Int(readerPID))
            #expect(blocker["action"] as? String == "terminate")
            // The migration ran for real: its Python step filled every note.
            let session = try await database.session()
            let empty = try await session.query("SELECT count(*)::int8 AS n FROM shop_order WHERE note IS NULL")
            #expect(try empty.rows.first?.require(Int.self, "n") == 0)
            await session.close()
        }
    }

    @Test(
        "[preflight] max_rewrite_mb: the RunPython step cannot be checked, so the run is refused before anything changes"
    )
    func djangoRunPythonRefused() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await djangoFixture(database)
            let policy = NSTemporaryDirectory() + "pgwarden-django-policy-" + UUID().uuidString + ".toml"
            try "[preflight]\nmax_rewrite_mb = 500\n".write(toFile: policy, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: policy) }
            let output = try await PGWardenCommand.run(
                fixture.arguments(["--policy", policy]) + ["--"] + DjangoFixture.migrate
            )
            #expect(output.status != 0)
            #expect(
                output.standardError.contains(
                    "migration shop.0004_fill_note's Raw Python operation (Python code, RunPython) is not forecast, so max_rewrite_mb cannot be checked on it"
                ),
                "\(output.standardOutput)\n\(output.standardError)"
            )
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            let session = try await database.session()
            let recorded = try await session.query("SELECT count(*)::int8 AS n FROM django_migrations")
            #expect(try recorded.rows.first?.require(Int.self, "n") == 1)
            await session.close()
        }
    }

    @Test(
        "bad input: manage.py missing, an app Django does not know: one error line, nothing paused, nothing run",
        arguments: [
            (["/nonexistent/manage.py", "migrate"], "/nonexistent/manage.py does not exist"),
            (["manage.py", "migrate", "nope"], "No installed app with label 'nope'."),
        ]
    )
    func djangoBadInput(words: [String], expected: String) async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await djangoFixture(database)
            let command =
                [DjangoFixture.python]
                + (words.first == "manage.py" ? [DjangoFixture.managePy] + words.dropFirst() : words)
            let output = try await PGWardenCommand.run(fixture.arguments() + ["--"] + command)
            #expect(output.status != 0)
            let lines = output.standardError.split(separator: "\n")
            #expect(lines.filter { $0.hasPrefix("error: ") }.count == 1, "\(output.standardError)")
            #expect(lines.first { $0.hasPrefix("error: ") }?.contains(expected) == true, "\(output.standardError)")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            #expect(!FileManager.default.fileExists(atPath: fixture.reportPath))
        }
    }

    @Test("a --dsn role that may not read django_migrations: a warning with the grant, never a bare permission denied")
    func djangoMigrationsUnreadable() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await djangoFixture(database)
            let admin = try await TestCluster.administrator()
            let role = TestCluster.uniqueName("pgw_nodjango")
            _ = try await admin.query("CREATE ROLE \(role) LOGIN")
            _ = try await admin.query("GRANT pg_monitor, pg_signal_backend TO \(role)")
            let arguments = fixture.arguments().map {
                $0 == database.connectionString ? "\(database.connectionString) user=\(role)" : $0
            }
            let result = try await PGWardenCommand.run(arguments + ["--", "/bin/true"])
            _ = try await admin.query("DROP ROLE \(role)")
            #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
            #expect(
                result.standardOutput.contains(
                    "role \(role) may not read django_migrations, so it is not checked before and after the run"
                        + " (GRANT SELECT ON django_migrations TO \(role) lets it)"
                ),
                "\(result.standardOutput)"
            )
            #expect(!result.standardError.contains("permission denied"))
            #expect(!result.standardOutput.contains("django_migrations: "))  // no before/after line without them
        }
    }
}
