import Foundation
import Postgres
import TestSupport
import Testing

/// The guard as a service: the whole cluster, its privileges said at start, a rotated audit
/// log, and journald's priorities.
@Suite("pgwarden guard on a server", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct GuardOperationsTests {
    static func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-guard-ops-" + UUID().uuidString + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let idleRule = """
        interval = "100ms"
        [[rule]]
        name = "idle"
        state = ["idle in transaction"]
        databases = ["DATABASE"]
        action = "terminate"
        """

    @Test("--all-databases: connected to postgres, a rule naming another database terminates its blocker")
    func allDatabases() async throws {
        try await ScratchDatabase.with { database in
            let setup = try await database.alterBehindIdleReader("migration")
            let policy = try Self.file(Self.idleRule.replacingOccurrences(of: "DATABASE", with: database.name))
            let audit = NSTemporaryDirectory() + "pgwarden-all-" + UUID().uuidString
            let confined = try await PGWardenCommand.run([
                "guard", "--policy", policy, "--once", "--audit-log", audit, "--dsn", "dbname=postgres",
            ])
            #expect(confined.status == 0, "\(confined.standardError)")
            #expect(((try? String(contentsOfFile: audit, encoding: .utf8)) ?? "").isEmpty)  // another database's
            let everywhere = try await PGWardenCommand.run([
                "guard", "--policy", policy, "--once", "--all-databases", "--audit-log", audit, "--dsn",
                "dbname=postgres",
            ])
            #expect(everywhere.status == 0, "\(everywhere.standardError)")
            try await setup.waiter.task.value
            let line = try String(contentsOfFile: audit, encoding: .utf8)
            #expect(line.contains("\"outcome\":\"signalled\"") && line.contains("\"server_version\":\""), "\(line)")
        }
    }

    @Test("a role without pg_signal_backend is warned at start; under systemd the warning carries journald's <4>")
    func privilegesAndJournal() async throws {
        try await ScratchDatabase.with { database in
            let admin = try await TestCluster.administrator()
            let role = TestCluster.uniqueName("pgw_plain")
            _ = try await admin.query("CREATE ROLE \(role) LOGIN")
            let policy = try Self.file(Self.idleRule.replacingOccurrences(of: "DATABASE", with: database.name))
            let dsn = "dbname=\(database.name) user=\(role)"
            let plain = try await PGWardenCommand.run(["guard", "--policy", policy, "--once", "--dsn", dsn])
            let journal = try await PGWardenCommand.run(
                ["guard", "--policy", policy, "--once", "--dsn", dsn],
                environment: ["JOURNAL_STREAM": "8:12345"]
            )
            _ = try await admin.query("DROP ROLE \(role)")
            #expect(plain.standardError.contains("is not a member of pg_signal_backend"), "\(plain.standardError)")
            #expect(
                journal.standardError.split(separator: "\n").contains {
                    $0.hasPrefix("<4>warning ") && $0.contains("pg_signal_backend")
                },
                "\(journal.standardError)"
            )
        }
    }

    @Test("SIGHUP reopens the audit log: after mv audit.jsonl audit.jsonl.1, new lines go to a new audit.jsonl")
    func rotatedAuditLog() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("a")
            try await database.createTable("b")
            let policy = try Self.file(Self.idleRule.replacingOccurrences(of: "DATABASE", with: database.name))
            let audit = NSTemporaryDirectory() + "pgwarden-rotate-" + UUID().uuidString + ".jsonl"
            let daemon = try RunningCommand(
                ["guard", "--policy", policy, "--audit-log", audit, "--dsn", database.connectionString],
                environment: ["PGWARDEN_LOG_LEVEL": "notice"]
            )
            let first = try await database.idleInTransactionReader(of: "a", "report")
            let firstWaiter = try await database.startBlockedStatement("ALTER TABLE a ADD COLUMN c int", "migration")
            try await firstWaiter.task.value
            _ = first
            try FileManager.default.moveItem(atPath: audit, toPath: audit + ".1")
            daemon.send(SIGHUP)
            try await daemon.waitForStandardError("policy reloaded", timeout: .seconds(10))
            let second = try await database.idleInTransactionReader(of: "b", "report")
            let secondWaiter = try await database.startBlockedStatement("ALTER TABLE b ADD COLUMN c int", "migration")
            try await secondWaiter.task.value
            _ = second
            try await eventually("the new audit file has the second decision") {
                ((try? String(contentsOfFile: audit, encoding: .utf8)) ?? "").contains("\"outcome\":\"signalled\"")
            }
            daemon.send(SIGTERM)
            _ = try await daemon.waitForExit()
            #expect(try String(contentsOfFile: audit + ".1", encoding: .utf8).split(separator: "\n").count == 1)
        }
    }
}
