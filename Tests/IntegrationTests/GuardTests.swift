import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden guard` against real blockers.
@Suite("pgwarden guard", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct GuardTests {
    func policyFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-policy-" + UUID().uuidString + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The audit lines in `path`, decoded.
    func auditLines(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func blockerPID(_ line: [String: Any]) -> Int32? {
        ((line["blocker"] as? [String: Any])?["pid"] as? Int).map(Int32.init)
    }

    static let policy = """
        interval = "100ms"

        [protect]
        application_names = ["pg_dump*"]

        [[rule]]
        name = "idle transactions that block"
        blocking_for = "0s"
        state = ["idle in transaction", "idle in transaction (aborted)"]
        action = "terminate"
        """

    @Test("--once frees a migration-shaped waiter from an idle-in-transaction blocker and leaves a protected one alone")
    func once() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("a")
            try await database.createTable("b")
            let reader = try await database.idleInTransactionReader(of: "a", "report")
            let readerPID = await reader.backendPID
            let dump = try await database.idleInTransactionReader(of: "b", "pg_dump")
            let dumpPID = await dump.backendPID
            let observer = try await database.session("observer")
            let migration = try await database.startBlockedStatement(
                "ALTER TABLE a ADD COLUMN c int",
                "pgwarden-migration-t"
            )
            let other = try await database.startBlockedStatement(
                "ALTER TABLE b ADD COLUMN c int",
                "pgwarden-migration-t"
            )
            try await database.waitUntilWaiting(migration.pid, observer: observer)
            try await database.waitUntilWaiting(other.pid, observer: observer)
            let audit = NSTemporaryDirectory() + "pgwarden-audit-" + UUID().uuidString

            let result = try await PGWardenCommand.run([
                "guard", "--policy", try policyFile(Self.policy), "--once", "--audit-log", audit,
                "--dsn", database.connectionString,
            ])

            #expect(result.status == 0, "\(result.standardError)")
            try await migration.task.value  // freed
            let lines = auditLines(audit)
            #expect(lines.count == 2)
            let acted = try #require(lines.first { blockerPID($0) == readerPID })
            #expect(acted["outcome"] as? String == "signalled" && acted["action"] as? String == "terminate")
            #expect(acted["rule"] as? String == "idle transactions that block")
            let waiters = try #require(acted["waiters"] as? [[String: Any]])
            #expect(waiters.first?["pid"] as? Int == Int(migration.pid))
            #expect(waiters.first?["application_name"] as? String == "pgwarden-migration-t")
            let protected = try #require(lines.first { blockerPID($0) == dumpPID })
            #expect(protected["outcome"] as? String == "protected")
            #expect(protected["detail"] as? String == "[protect] application_names: pg_dump*")
            #expect(try await database.blockingPIDs(of: other.pid, observer: observer) == [dumpPID])
            let attributes = try FileManager.default.attributesOfItem(atPath: audit)
            #expect(attributes[.posixPermissions] as? Int == 0o600)
            _ = try await dump.query("ROLLBACK")
            try await other.task.value
        }
    }

    @Test("a cancel rule on long DELETEs fires for the migration's waiter only; dry run signals nothing")
    func cancelRuleAndDryRun() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let observer = try await database.session("observer")
            let delete = try await database.startBlockedStatement(
                "DELETE FROM t WHERE pg_sleep(60) IS NOT NULL",
                "purge"
            )
            try await eventually("the DELETE holds its lock") {
                try await observer.query(
                    "SELECT 1 FROM pg_locks WHERE pid = $1 AND granted AND relation = 't'::regclass",
                    [delete.pid]
                ).rows.count > 0
            }
            let web = try await database.startBlockedStatement("ALTER TABLE t ADD COLUMN w int", "web")
            try await database.waitUntilWaiting(web.pid, observer: observer)
            let policy = try policyFile(
                """
                [[rule]]
                name = "long DELETEs blocking the migration"
                waiter_application_name = "pgwarden-migration*"
                query = "(?i)^\\\\s*delete"
                action = "cancel"
                """
            )
            let audit = NSTemporaryDirectory() + "pgwarden-audit-" + UUID().uuidString
            let arguments = [
                "guard", "--policy", policy, "--once", "--audit-log", audit, "--dsn", database.connectionString,
            ]

            // The waiter is not the migration: the rule does not fire.
            _ = try await PGWardenCommand.run(arguments)
            #expect(auditLines(audit).isEmpty)
            _ = try await observer.query("SELECT pg_cancel_backend($1)", [web.pid])
            await #expect(throws: PostgresError.self) { try await web.task.value }

            let migration = try await database.startBlockedStatement(
                "ALTER TABLE t ADD COLUMN c int",
                "pgwarden-migration-9"
            )
            try await database.waitUntilWaiting(migration.pid, observer: observer)
            _ = try await PGWardenCommand.run(arguments + ["--dry-run"])
            #expect(auditLines(audit).map { $0["outcome"] as? String } == ["dry-run"])
            #expect(try await database.blockingPIDs(of: migration.pid, observer: observer) == [delete.pid])

            _ = try await PGWardenCommand.run(arguments)
            #expect(auditLines(audit).last?["outcome"] as? String == "signalled")
            try await migration.task.value
            let error = await #expect(throws: PostgresError.self) { try await delete.task.value }
            #expect(error?.sqlState == PostgresError.SQLState.queryCanceled)
        }
    }

    @Test("a cancel of an idle-in-transaction blocker is audited as ineffective, and escalates to terminate")
    func escalation() async throws {
        try await ScratchDatabase.with { database in
            let (reader, readerPID, _, migration) = try await database.alterBehindIdleReader("pgwarden-migration-e")
            let audit = NSTemporaryDirectory() + "pgwarden-audit-" + UUID().uuidString
            let daemon = try RunningCommand([
                "guard", "--audit-log", audit, "--dsn", database.connectionString, "--policy",
                try policyFile(
                    """
                    interval = "100ms"
                    [[rule]]
                    name = "cancel, then terminate"
                    action = "cancel"
                    escalate_after = "1s"
                    """
                ),
            ])

            try await migration.task.value
            try await eventually("two audit lines") { auditLines(audit).count >= 2 }
            daemon.send(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)
            let lines = auditLines(audit)
            #expect(lines.map { $0["action"] as? String } == ["cancel", "terminate"])
            #expect(lines.allSatisfy { blockerPID($0) == readerPID })
            #expect(lines.map { $0["outcome"] as? String } == ["ineffective", "signalled"])
            #expect((lines[0]["detail"] as? String)?.hasPrefix("pid \(readerPID) is idle in transaction") == true)
            #expect(lines[1]["escalation"] as? Bool == true)
            withExtendedLifetime(reader) {}  // held until the guard terminated it
        }
    }

    @Test("max_actions_per_minute: the third blocker is rate-limited")
    func rateLimit() async throws {
        try await ScratchDatabase.with { database in
            let observer = try await database.session("observer")
            var waiters: [(pid: Int32, session: Connection, task: Task<Void, any Error>)] = []
            var readers: [Connection] = []
            for name in ["r1", "r2", "r3"] {
                try await database.createTable(name)
                readers.append(try await database.idleInTransactionReader(of: name, "report-\(name)"))
                let waiter = try await database.startBlockedStatement("ALTER TABLE \(name) ADD COLUMN c int")
                try await database.waitUntilWaiting(waiter.pid, observer: observer)
                waiters.append(waiter)
            }
            let audit = NSTemporaryDirectory() + "pgwarden-audit-" + UUID().uuidString
            let policy = try policyFile(
                Self.policy.replacingOccurrences(of: "interval", with: "max_actions_per_minute = 2\ninterval")
            )

            let result = try await PGWardenCommand.run([
                "guard", "--policy", policy, "--once", "--audit-log", audit, "--dsn", database.connectionString,
            ])

            #expect(result.status == 0)
            #expect(
                auditLines(audit).compactMap { $0["outcome"] as? String }.sorted() == [
                    "rate-limited", "signalled", "signalled",
                ]
            )
            let stillBlocked = try await observer.query(
                "SELECT count(*)::int8 AS n FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            #expect(try stillBlocked.rows[0].require(Int.self, "n") == 1)
            for waiter in waiters { _ = try? await observer.query("SELECT pg_cancel_backend($1)", [waiter.pid]) }
            withExtendedLifetime(readers) {}
        }
    }

    @Test("--once --dry-run with nothing blocking says so on stderr (it printed nothing); stdout stays the audit's")
    func onceWithNothingBlocking() async throws {
        try await ScratchDatabase.with { database in
            let result = try await PGWardenCommand.run([
                "guard", "--policy", try policyFile(Self.policy), "--once", "--dry-run", "--dsn",
                database.connectionString,
            ])
            #expect(result.status == 0)
            #expect(result.standardOutput.isEmpty)
            #expect(result.standardError == "nothing blocks: no session waits on a lock, nothing to decide\n")
        }
    }

    @Test("SIGHUP re-reads the policy; a bad one is reported and the old one kept")
    func reload() async throws {
        try await ScratchDatabase.with { database in
            let (reader, _, observer, migration) = try await database.alterBehindIdleReader("pgwarden-migration-h")
            let policy = try policyFile("interval = \"100ms\"\n[[rule]]\nname = \"watch\"\naction = \"log\"\n")
            let audit = NSTemporaryDirectory() + "pgwarden-audit-" + UUID().uuidString
            let daemon = try RunningCommand(
                ["guard", "--policy", policy, "--audit-log", audit, "--dsn", database.connectionString],
                environment: ["PGWARDEN_LOG_LEVEL": "info"]
            )
            try await eventually("the log rule audits the blocker") { auditLines(audit).count == 1 }

            try "interval = \"100ms\"\n[[rule]]\nname = \"x\"\naction = \"obliterate\"\n".write(
                toFile: policy,
                atomically: true,
                encoding: .utf8
            )
            daemon.send(SIGHUP)
            try await daemon.waitForStandardError("keeping the previous policy:")
            #expect(daemon.standardError.contains("rule 'x': action: unknown action 'obliterate'"))
            #expect(try await database.blockingPIDs(of: migration.pid, observer: observer) == [await reader.backendPID])

            // Nested 3,000 deep (6 KB): the reader recursed once per level and the guard died of it (SIGSEGV).
            let deep =
                "interval = \"100ms\"\n\nx = " + String(repeating: "[", count: 3000)
                + String(repeating: "]", count: 3000) + "\n"
            try deep.write(toFile: policy, atomically: true, encoding: .utf8)
            daemon.send(SIGHUP)
            try await daemon.waitForStandardError("keeping the previous policy:", count: 2)
            #expect(
                daemon.standardError.contains("\(policy):3: arrays nested more than 16 deep"),
                "\(daemon.standardError)"
            )

            try Self.policy.write(toFile: policy, atomically: true, encoding: .utf8)
            daemon.send(SIGHUP)
            try await daemon.waitForStandardError("policy reloaded: 1 rule")
            try await migration.task.value
            try await eventually("the terminate is audited") { auditLines(audit).count == 2 }
            #expect(auditLines(audit).map { $0["rule"] as? String } == ["watch", "idle transactions that block"])
            daemon.send(SIGINT)
            #expect(try await daemon.waitForExit() == 0)
        }
    }

    @Test("the server restarted while the guard runs: it reconnects and goes on")
    func serverRestart() async throws {
        let cluster = try await onDedicatedThread { try PrivateCluster() }
        defer { cluster.destroy() }
        let audit = NSTemporaryDirectory() + "pgwarden-audit-" + UUID().uuidString
        let daemon = try RunningCommand(
            [
                "guard", "--policy", try policyFile(Self.policy), "--audit-log", audit, "--dsn",
                cluster.connectionString,
            ],
            environment: ["PGWARDEN_LOG_LEVEL": "info"]
        )
        try await daemon.waitForStandardError("connected; polling")

        try await onDedicatedThread { try cluster.stop() }
        try await daemon.waitForStandardError("lost the connection")
        try await daemon.waitForStandardError("cannot connect")
        try await onDedicatedThread { try cluster.start() }
        try await daemon.waitForStandardError("connected; polling", count: 2, timeout: .seconds(30))

        // And it still works: a blocker after the restart is terminated.
        let open = { (application: String) in
            try await Connection.connect(
                ConfigurationForPrivate.make(cluster.connectionString, application),
                logger: TestCluster.logger
            )
        }
        let setup = try await open("setup")
        _ = try await setup.query("CREATE TABLE t (id int)")
        let reader = try await open("report")
        _ = try await reader.query("BEGIN")
        _ = try await reader.query("SELECT * FROM t")
        let migration = try await open("pgwarden-migration-r")
        _ = try await migration.query("ALTER TABLE t ADD COLUMN c int")  // returns once the guard freed it
        try await eventually("the terminate is audited") { auditLines(audit).count == 1 }
        daemon.send(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }
}

/// A configuration for a private cluster's session.
enum ConfigurationForPrivate {
    static func make(_ connectionString: String, _ application: String) -> ConnectionConfiguration {
        ConnectionConfiguration(connectionString: connectionString, applicationName: application)
    }
}
