import Foundation
import Postgres
import TestSupport
import Testing

/// A blocker whose query sets a role's password: every output that shows other sessions' query
/// text shows `PASSWORD '***'`, never the password.
@Suite("Secrets in query text", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct QueryTextSecretTests {
    /// A role, and a session idle in a transaction that read `table` and then set the role's password
    /// (its last query); the role's row stays locked until the transaction ends.
    struct PasswordSetter {
        let role: String
        let secret: String
        let session: Connection
        let pid: Int32

        static func start(_ database: ScratchDatabase, reading table: String) async throws -> PasswordSetter {
            let role = TestCluster.uniqueName("pgw_pw")
            let secret = "hunter2-" + UUID().uuidString.prefix(8)
            let admin = try await database.session("admin")
            _ = try await admin.query("CREATE ROLE \(role) LOGIN")
            await admin.close()
            let session = try await database.session("password-setter")
            _ = try await session.query("BEGIN")
            _ = try await session.query("SELECT count(*) FROM \(table)")
            _ = try await session.query("ALTER ROLE \(role) ENCRYPTED PASSWORD '\(secret)'")
            return PasswordSetter(role: role, secret: secret, session: session, pid: await session.backendPID)
        }

        /// Ends the transaction (if the session still lives) and drops the role.
        func finish(_ database: ScratchDatabase) async throws {
            _ = try? await session.query("ROLLBACK")
            await session.close()
            let admin = try await database.session("admin")
            _ = try await admin.query("DROP ROLE IF EXISTS \(role)")
            await admin.close()
        }
    }

    @Test("locks and locks --json: the blocker's and the waiter's PASSWORD literals are masked")
    func locks() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let setter = try await PasswordSetter.start(database, reading: "t")
            let observer = try await database.session("observer")
            // Waits on the setter's transaction, its own text holding the same password.
            let waiter = try await database.startBlockedStatement(
                "ALTER ROLE \(setter.role) PASSWORD '\(setter.secret)'",
                "second-setter"
            )
            try await database.waitUntilWaiting(waiter.pid, observer: observer)

            let text = try await PGWardenCommand.run(
                ["locks", "--dsn", database.connectionString],
                environment: ["COLUMNS": "200"]
            )
            let json = try await PGWardenCommand.run(["locks", "--json", "--dsn", database.connectionString])

            for result in [text, json] {
                #expect(result.status == 0, "\(result.standardError)")
                #expect(!(result.standardOutput + result.standardError).contains(setter.secret))
            }
            #expect(text.standardOutput.contains("PASSWORD '***'"), "\(text.standardOutput)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
            )
            let blocker = try #require(
                (object["blockers"] as? [[String: Any]])?.first { $0["pid"] as? Int == Int(setter.pid) }
            )
            #expect(blocker["query"] as? String == "ALTER ROLE \(setter.role) ENCRYPTED PASSWORD '***'")
            let wait = try #require(
                (object["waits"] as? [[String: Any]])?.first { $0["pid"] as? Int == Int(waiter.pid) }
            )
            #expect(wait["query"] as? String == "ALTER ROLE \(setter.role) PASSWORD '***'")

            try await setter.finish(database)
            try await waiter.task.value
        }
    }

    @Test("guard's audit log and its output: the blocker's PASSWORD literal is masked")
    func guardAudit() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let setter = try await PasswordSetter.start(database, reading: "t")
            let observer = try await database.session("observer")
            let migration = try await database.startBlockedStatement(
                "ALTER TABLE t ADD COLUMN c int",
                "pgwarden-migration-pw"
            )
            try await database.waitUntilWaiting(migration.pid, observer: observer)
            let policy = NSTemporaryDirectory() + "pgwarden-policy-" + UUID().uuidString + ".toml"
            try """
            [[rule]]
            name = "idle transactions that block"
            blocking_for = "0s"
            state = ["idle in transaction"]
            action = "terminate"
            """.write(toFile: policy, atomically: true, encoding: .utf8)
            let audit = NSTemporaryDirectory() + "pgwarden-audit-" + UUID().uuidString

            let result = try await PGWardenCommand.run([
                "guard", "--policy", policy, "--once", "--dry-run", "--audit-log", audit,
                "--dsn", database.connectionString,
            ])

            #expect(result.status == 0, "\(result.standardError)")
            let written = try String(contentsOfFile: audit, encoding: .utf8)
            #expect(written.contains("PASSWORD '***'"), "\(written)")
            #expect(!(written + result.standardOutput + result.standardError).contains(setter.secret))
            try await setter.finish(database)
            try await migration.task.value
        }
    }
}

extension UpgradeTests {
    @Test("upgrade's report, run log and output: a blocker's PASSWORD literal is masked")
    func passwordInBlockerQuery() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let setter = try await QueryTextSecretTests.PasswordSetter.start(database, reading: "orders")
            let run = try await PGWardenCommand.run(
                fixture.arguments(["--policy", try fixture.policy(after: "1s")]) + fixture.migration
            )

            #expect(run.status == 0, "\(run.standardOutput)\n\(run.standardError)")
            let blocker = try #require(
                ((try fixture.report()["lock_waits"] as? [[String: Any]])?.first?["blockers"] as? [[String: Any]])?
                    .first
            )
            #expect(blocker["query"] as? String == "ALTER ROLE \(setter.role) ENCRYPTED PASSWORD '***'")
            var written = run.standardOutput + run.standardError
            written += try String(contentsOfFile: fixture.reportPath, encoding: .utf8)
            for file in FileManager.default.enumerator(atPath: fixture.stateDirectory)?.allObjects as? [String] ?? [] {
                written += (try? String(contentsOfFile: fixture.stateDirectory + "/" + file, encoding: .utf8)) ?? ""
            }
            #expect(!written.contains(setter.secret))
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            try await setter.finish(database)
        }
    }
}
