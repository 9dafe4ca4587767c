import Foundation
import Postgres
import TestSupport
import Testing

/// Helpers of the tests of `pgwarden guard` running beside a `pgwarden upgrade`.
enum Beside {
    static let runPrefix = "pgwarden-migration-"

    static func file(_ text: String, _ suffix: String = ".toml") throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-beside-" + UUID().uuidString + suffix
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func auditLines(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func application(_ line: [String: Any]) -> String? {
        (line["blocker"] as? [String: Any])?["application_name"] as? String
    }

    /// The audit line about the supervised migration (named `pgwarden-migration-<run id>`, not the impostor).
    static func migrationLine(_ lines: [[String: Any]], outcome: String) -> [String: Any]? {
        lines.first {
            let name = application($0) ?? ""
            return name.hasPrefix(runPrefix) && name != runPrefix + "fake" && $0["outcome"] as? String == outcome
        }
    }
}

/// `pgwarden guard` running beside a `pgwarden upgrade`: the guard never signals the supervised
/// migration, which the upgrade claims in the database by identity; a session that only names
/// itself like a migration gains nothing. In the serialized upgrade suite: they share its crontab user.
extension UpgradeTests {
    /// The policy of the issue: a cancel rule that matches the migration, which blocks the web
    /// sessions queued behind it. The migration's own blocker (an idle reader) is protected by name.
    static let besideCancelEverything = """
        interval = "100ms"

        [protect]
        application_names = ["monthly-report"]

        [[rule]]
        name = "anything blocking for long"
        blocking_for = "1s"
        action = "cancel"
        """

    @Test(
        "a running guard whose cancel rule matches the migration leaves it alone and audits it protected by the run; a self-named session is still cancelled"
    )
    func guardLeavesTheMigrationAlone() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            try await database.createTable("queue")
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let observer = try await database.session("observer")
            let audit = NSTemporaryDirectory() + "pgwarden-beside-audit-" + UUID().uuidString
            let guardRun = try RunningCommand(
                [
                    "guard", "--policy", try Beside.file(Self.besideCancelEverything), "--audit-log", audit,
                    "--dsn", database.connectionString,
                ],
                environment: ["PGWARDEN_LOG_LEVEL": "info"]
            )
            defer { guardRun.kill() }
            try await guardRun.waitForStandardError("connected; polling")
            let run = try RunningCommand(fixture.arguments() + fixture.migration)
            defer { run.kill() }
            try await run.waitForStandardOutput("waits for AccessExclusiveLock on relation public.orders")
            try await run.waitForStandardOutput("claimed pid")
            let web = try await database.startBlockedStatement("SELECT count(*) FROM orders", "web")
            try await database.waitUntilWaiting(web.pid, observer: observer)
            // A session that names itself like a migration, blocking someone: judged like any other.
            let impostor = try await database.startBlockedStatement(
                "DELETE FROM queue WHERE pg_sleep(60) IS NOT NULL",
                Beside.runPrefix + "fake"
            )
            try await eventually("the impostor holds its lock") {
                try await observer.query(
                    "SELECT 1 FROM pg_locks WHERE pid = $1 AND granted AND relation = 'queue'::regclass",
                    [impostor.pid]
                ).rows.count > 0
            }
            let behindImpostor = try await database.startBlockedStatement("ALTER TABLE queue ADD COLUMN w int", "web")
            try await database.waitUntilWaiting(behindImpostor.pid, observer: observer)

            try await eventually("the guard has judged both") {
                let lines = Beside.auditLines(audit)
                return Beside.migrationLine(lines, outcome: "protected") != nil
                    && lines.contains {
                        Beside.application($0) == Beside.runPrefix + "fake" && $0["outcome"] as? String == "signalled"
                    }
            }

            let lines = Beside.auditLines(audit)
            #expect(Beside.migrationLine(lines, outcome: "signalled") == nil, "\(lines)")
            let protected = try #require(Beside.migrationLine(lines, outcome: "protected"))
            let runID = String(try #require(Beside.application(protected)).dropFirst(Beside.runPrefix.count))
            let claim = try #require(protected["protected"] as? [String: Any])
            #expect(claim["by"] as? String == "upgrade \(runID)")
            #expect((protected["detail"] as? String)?.contains("upgrade \(runID)") == true)
            try await behindImpostor.task.value  // the impostor's DELETE was cancelled: the ALTER ran
            await #expect(throws: (any Error).self) { try await impostor.task.value }
            _ = try await reader.query("ROLLBACK")
            let status = try await run.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            try await web.task.value
            #expect(try fixture.report()["outcome"] as? String == "succeeded")
            guardRun.send(SIGTERM)
            _ = try await guardRun.waitForExit()
        }
    }

    @Test(
        "a guard on a second role trusts the upgrade's claim only when [protect] upgrade_roles names the upgrade's role"
    )
    func guardOnASecondRole() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let admin = try await TestCluster.administrator()
            let upgradeRole = try await admin.query("SELECT current_user AS role").rows[0].require(String.self, "role")
            let guardRole = TestCluster.uniqueName("guardrole")
            _ = try await admin.query("CREATE ROLE \"\(guardRole)\" LOGIN IN ROLE pg_monitor, pg_signal_backend")
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let observer = try await database.session("observer")
            let run = try RunningCommand(fixture.arguments() + fixture.migration)
            defer { run.kill() }
            try await run.waitForStandardOutput("claimed pid")
            let web = try await database.startBlockedStatement("SELECT count(*) FROM orders", "web")
            try await database.waitUntilWaiting(web.pid, observer: observer)
            let rule = """
                [[rule]]
                name = "anything that blocks"
                action = "cancel"
                """
            func judge(_ protect: String) async throws -> String? {
                let audit = NSTemporaryDirectory() + "pgwarden-beside-audit-" + UUID().uuidString
                let policy = try Beside.file(
                    "[protect]\napplication_names = [\"monthly-report\"]\n\(protect)\n\n\(rule)\n"
                )
                let result = try await PGWardenCommand.run([
                    "guard", "--policy", policy, "--once", "--dry-run", "--audit-log", audit,
                    "--dsn", "\(database.connectionString) user=\(guardRole)",
                ])
                #expect(result.status == 0, "\(result.standardError)")
                let lines = Beside.auditLines(audit)
                return lines.first { (Beside.application($0) ?? "").hasPrefix(Beside.runPrefix) }?["outcome"] as? String
            }

            // Its own role is not the upgrade's: the claim is not trusted, the migration is judged.
            #expect(try await judge("") == "dry-run")
            #expect(try await judge("upgrade_roles = [\"\(upgradeRole)\"]") == "protected")
            #expect(try await judge("upgrade_roles = [\"somebody-else\"]") == "dry-run")

            _ = try await reader.query("ROLLBACK")
            #expect(try await run.waitForExit(timeout: .seconds(60)) == 0)
            try await web.task.value
            await reader.close()
            await observer.close()
            _ = try await admin.query("DROP ROLE \"\(guardRole)\"")
            await admin.close()
        }
    }

    @Test(
        "the migration's statement cancelled or its session terminated from outside: the log says so at once, with who",
        arguments: ["pg_cancel_backend", "pg_terminate_backend"]
    )
    func signalledFromOutside(_ function: String) async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let run = try RunningCommand(fixture.arguments() + fixture.migration)
            defer { run.kill() }
            try await run.waitForStandardOutput("waits for AccessExclusiveLock on relation public.orders")
            let console = try await database.session("ops-console")
            let consolePID = await console.backendPID
            let migrationPID = try await console.query(
                "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'pgwarden-migration-%' AND wait_event_type = 'Lock'"
            ).rows[0].require(Int32.self, "pid")

            _ = try await console.query("SELECT \(function)($1)", [migrationPID])

            let status = try await run.waitForExit(timeout: .seconds(60))
            #expect(status != 0)
            let said =
                function == "pg_cancel_backend"
                ? "the migration's statement was cancelled by another session, not by this run"
                : "the migration's session was terminated by another session"
            #expect(run.standardOutput.contains(said), "\(run.standardOutput)\n\(run.standardError)")
            #expect(run.standardOutput.contains("who: seen from here: pid \(consolePID) ("), "\(run.standardOutput)")
            #expect(run.standardOutput.contains("application ops-console"))
            let warnings = try fixture.report()["warnings"] as? [String] ?? []
            #expect(warnings.contains { $0.contains(said) && $0.contains("pid \(consolePID)") }, "\(warnings)")
            _ = try await reader.query("ROLLBACK")
            await console.close()
            await reader.close()
        }
    }

    @Test("two upgrades on one database: the second's cancel rule leaves the first's migration alone (its claim)")
    func secondUpgradeLeavesTheFirstAlone() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let first = try RunningCommand(fixture.arguments() + fixture.migration)
            defer { first.kill() }
            try await first.waitForStandardOutput("claimed pid")
            // The second run's "migration" reads orders: it queues behind the first's ALTER, which its rule matches.
            let python = UpgradeFixture.packageRoot + "/.venv/bin/python"
            let read =
                "import psycopg2; c = psycopg2.connect('\(database.connectionString)'); c.cursor().execute('SELECT count(*) FROM orders'); print('read')"
            let state = NSTemporaryDirectory() + "pgwarden-second-state-" + UUID().uuidString
            let second = try RunningCommand([
                "upgrade", "--dsn", database.connectionString, "--state-dir", state, "--no-interactive",
                "--policy", try Beside.file(Self.besideCancelEverything), "--", python, "-c", read,
            ])
            defer { second.kill() }
            do {
                try await second.waitForStandardOutput("→ protected (the migration's session of a supervised upgrade")
            } catch {
                Issue.record("\(error)\n\(second.standardOutput)\n\(second.standardError)\n\(first.standardOutput)")
                throw error
            }
            #expect(!second.standardOutput.contains("→ signalled"), "\(second.standardOutput)")
            let firstRunID = try #require(
                first.standardOutput.split(separator: "\n").first { $0.contains("] run ") }
                    .flatMap { $0.split(separator: " ").dropFirst(3).first }.map { String($0.dropLast()) }
            )
            #expect(second.standardOutput.contains("upgrade \(firstRunID)"), "\(second.standardOutput)")
            _ = try await reader.query("ROLLBACK")
            #expect(try await first.waitForExit(timeout: .seconds(60)) == 0, "\(first.standardOutput)")
            #expect(try await second.waitForExit(timeout: .seconds(60)) == 0, "\(second.standardOutput)")
            await reader.close()
        }
    }
}
