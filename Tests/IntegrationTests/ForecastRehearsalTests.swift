import Foundation
import Postgres
import TestSupport
import Testing

/// The forecast's rehearsal on a schema-only copy: what it reads, what it says without one, and the copy a killed run
/// leaves.
@Suite(
    "Forecast: the rehearsal on a schema-only copy",
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason)
)
struct ForecastRehearsalTests {
    static let schema = [
        "CREATE TABLE t (id int PRIMARY KEY)", "CREATE VIEW v1 AS SELECT id FROM t",
        "CREATE VIEW v2 AS SELECT id FROM v1", "CREATE TABLE orders (id int)",
    ]

    private func prepare(_ database: ScratchDatabase) async throws {
        let setup = try await database.session("setup")
        for statement in Self.schema { _ = try await setup.query(statement) }
        await setup.close()
    }

    private static func write(_ sql: String) throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-rehearsal-" + UUID().uuidString + ".sql"
        try sql.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The copies of rehearsals on the cluster.
    private static func copies(_ observer: Connection) async throws -> [String] {
        try await observer.query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'pgwarden\\_rehearsal\\_%' ORDER BY 1"
        ).rows.map { try $0.require(String.self, "datname") }
    }

    @Test(
        "the locks are the rehearsal backend's own: a view over a view reaches the table, a temp table is the session's own; the copy is dropped"
    )
    func rehearsedLocks() async throws {
        try await ScratchDatabase.with { database in
            try await prepare(database)
            let file = try Self.write(
                "SELECT * FROM v2;\nCREATE TEMP TABLE orders (id int);\nALTER TABLE orders ADD COLUMN x int;\n"
            )
            defer { try? FileManager.default.removeItem(atPath: file) }
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--sql", file, "--json", "--sample", "0.1s"]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let json = try Self.json(output.standardOutput)
            let rehearsal = try #require(json["rehearsal"] as? [String: Any])
            #expect(rehearsal["ran"] as? Bool == true, "\(rehearsal)")
            let statements = try #require(json["statements"] as? [[String: Any]])
            let select = try #require(statements.first?["locks"] as? [[String: Any]])
            #expect(
                Set(
                    select.map {
                        "\($0["relation"] ?? "") \($0["mode"] ?? "") \($0["source"] ?? "") \($0["certain"] ?? "")"
                    }
                )
                    == [
                        "public.v2 AccessShareLock rehearsal 1", "public.v1 AccessShareLock rehearsal 1",
                        "public.t AccessShareLock rehearsal 1",
                    ]
            )
            let alter = statements[2]
            #expect((alter["locks"] as? [Any])?.isEmpty == true, "\(alter)")
            #expect((alter["notes"] as? [String])?.contains { $0.contains("temporary table orders") } == true)
            let copy = try #require(rehearsal["copy"] as? String)
            let observer = try await database.session("observer")
            #expect(try await !Self.copies(observer).contains(copy))
            await observer.close()
        }
    }

    @Test("no pg_dump that fits: the forecast says so once, in the text and the JSON, and goes on statically")
    func withoutRehearsal() async throws {
        try await ScratchDatabase.with { database in
            try await prepare(database)
            let file = try Self.write("ALTER TABLE t ADD COLUMN c int;\nSELECT * FROM v2;\n")
            defer { try? FileManager.default.removeItem(atPath: file) }
            let base = ["forecast", "--dsn", database.connectionString, "--sql", file, "--sample", "0.1s"]
            let text = try await PGWardenCommand.run(base + ["--pg-dump", "/nonexistent/pg_dump"])
            #expect(text.status == 0, Comment(rawValue: text.standardError))
            let said = text.standardOutput.components(separatedBy: "no rehearsal (").count - 1
            #expect(said == 1, Comment(rawValue: text.standardOutput))
            #expect(text.standardOutput.contains("[static]"), Comment(rawValue: text.standardOutput))
            let output = try await PGWardenCommand.run(
                base + ["--json"],
                environment: ["PGWARDEN_PG_DUMP": "/nonexistent/pg_dump"]
            )
            let json = try Self.json(output.standardOutput)
            let rehearsal = try #require(json["rehearsal"] as? [String: Any])
            #expect(rehearsal["ran"] as? Bool == false)
            #expect((rehearsal["reason"] as? String)?.contains("/nonexistent/pg_dump") == true, "\(rehearsal)")
            #expect((json["warnings"] as? [String])?.filter { $0.hasPrefix("no rehearsal") }.count == 1)
            let locks = try #require((json["statements"] as? [[String: Any]])?.first?["locks"] as? [[String: Any]])
            #expect(locks.allSatisfy { $0["source"] as? String == "static" && $0["certain"] as? Bool == false })
        }
    }

    @Test("a run killed (SIGKILL) during the rehearsal leaves its copy; the next run drops it")
    func killedRehearsalCopyIsDropped() async throws {
        try await ScratchDatabase.with { database in
            try await prepare(database)
            let slow = try Self.write("SELECT pg_sleep(60);\n")
            let quick = try Self.write("SELECT * FROM t;\n")
            defer { for file in [slow, quick] { try? FileManager.default.removeItem(atPath: file) } }
            let observer = try await database.session("observer")
            let running = try RunningCommand(["forecast", "--dsn", database.connectionString, "--sql", slow, "--json"])
            var copy = ""
            try await eventually("the rehearsal runs pg_sleep on its copy") {
                let rows = try await observer.query(
                    """
                    SELECT datname FROM pg_stat_activity
                    WHERE application_name LIKE 'pgwarden-rehearsal-%' AND query LIKE '%pg_sleep%'
                    """
                ).rows
                copy = try rows.first?.require(String.self, "datname") ?? ""
                return !copy.isEmpty
            }
            running.kill()
            _ = try await running.waitForExit()
            #expect(try await Self.copies(observer).contains(copy))
            // client_connection_check_interval: the server ends the orphaned statement within a second or so.
            try await eventually("nobody is connected to \(copy) any more") {
                try await observer.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1", [copy]).rows.isEmpty
            }
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--sql", quick, "--json", "--sample", "0.1s"]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            #expect((try Self.json(output.standardOutput)["rehearsal"] as? [String: Any])?["ran"] as? Bool == true)
            let after = try await Self.copies(observer)
            #expect(!after.contains(copy), "\(after)")
            await observer.close()
        }
    }

    @Test("a psql meta-command and inline COPY data are skipped with a note; the ALTER after them is still forecast")
    func psqlInputSkipped() async throws {
        try await ScratchDatabase.with { database in
            try await prepare(database)
            let file = try Self.write(
                "SELECT 1 AS one \\gset\nCOPY orders (id) FROM stdin;\n1\n2\n\\.\nALTER TABLE orders ADD COLUMN z int;\n"
            )
            defer { try? FileManager.default.removeItem(atPath: file) }
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--sql", file, "--json", "--sample", "0.1s"]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let json = try Self.json(output.standardOutput)
            let statements = try #require(json["statements"] as? [[String: Any]])
            #expect(
                statements.map { $0["sql"] as? String } == [
                    "SELECT 1 AS one", "COPY orders (id) FROM stdin", "ALTER TABLE orders ADD COLUMN z int",
                ]
            )
            let alter = try #require(statements.last?["locks"] as? [[String: Any]])
            #expect(
                alter.map { "\($0["relation"] ?? "") \($0["mode"] ?? "") \($0["source"] ?? "")" } == [
                    "public.orders AccessExclusiveLock rehearsal"
                ]
            )
            let warnings = try #require(json["warnings"] as? [String])
            #expect(warnings.contains { $0.hasPrefix("line 1: psql meta-command \\gset skipped") }, "\(warnings)")
            #expect(
                warnings.contains { $0.hasPrefix("line 3: COPY … FROM STDIN data (2 line(s)) skipped") },
                "\(warnings)"
            )
        }
    }

    @Test("--rehearse-dsn: the copy is made on the server it names, where a DO block is rehearsed and so forecast")
    func rehearseDsnRunsDoBlocks() async throws {
        try await ScratchDatabase.with { database in
            try await prepare(database)
            let file = try Self.write("DO $$BEGIN ALTER TABLE orders ADD COLUMN c int; END$$;\n")
            defer { try? FileManager.default.removeItem(atPath: file) }
            let base = ["forecast", "--dsn", database.connectionString, "--sql", file, "--json", "--sample", "0.1s"]
            let same = try Self.json(try await PGWardenCommand.run(base).standardOutput)
            #expect((same["not_forecast"] as? [String])?.count == 1, "on the real server a DO block is not run")
            let output = try await PGWardenCommand.run(base + ["--rehearse-dsn", database.connectionString])
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let json = try Self.json(output.standardOutput)
            #expect((json["not_forecast"] as? [String])?.isEmpty == true, "\(json["not_forecast"] ?? "")")
            let locks = try #require((json["statements"] as? [[String: Any]])?.first?["locks"] as? [[String: Any]])
            #expect(
                locks.map { "\($0["relation"] ?? "") \($0["mode"] ?? "") \($0["source"] ?? "")" } == [
                    "public.orders AccessExclusiveLock rehearsal"
                ]
            )
        }
    }

    @Test("a role without CREATEDB: no rehearsal, said once with the reason, the forecast goes on statically")
    func roleWithoutCreatedb() async throws {
        try await ScratchDatabase.with { database in
            try await prepare(database)
            let admin = try await TestCluster.administrator()
            let role = TestCluster.uniqueName("pgw_nocreatedb")
            _ = try await admin.query("CREATE ROLE \(role) LOGIN")
            _ = try await admin.query("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role)")
            let file = try Self.write("ALTER TABLE orders ADD COLUMN c int;\n")
            defer { try? FileManager.default.removeItem(atPath: file) }
            let output = try await PGWardenCommand.run(
                [
                    "forecast", "--dsn", "dbname=\(database.name) user=\(role)", "--sql", file, "--json", "--sample",
                    "0.1s",
                ]
            )
            _ = try await admin.query("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM \(role)")
            _ = try await admin.query("DROP ROLE \(role)")
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let json = try Self.json(output.standardOutput)
            let rehearsal = try #require(json["rehearsal"] as? [String: Any])
            #expect(rehearsal["ran"] as? Bool == false)
            #expect((rehearsal["reason"] as? String)?.contains("CREATEDB") == true, "\(rehearsal)")
            #expect((json["warnings"] as? [String])?.filter { $0.hasPrefix("no rehearsal") }.count == 1)
        }
    }

    @Test(
        "a table someone holds AccessExclusiveLock on: pg_dump does not queue (--lock-wait-timeout), no rehearsal, said so"
    )
    func pgDumpDoesNotQueue() async throws {
        try await ScratchDatabase.with { database in
            try await prepare(database)
            let holder = try await database.session("holder")
            _ = try await holder.query("BEGIN")
            _ = try await holder.query("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            let file = try Self.write("SELECT * FROM orders;\n")
            defer { try? FileManager.default.removeItem(atPath: file) }
            let started = ContinuousClock.now
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--sql", file, "--json", "--sample", "0.1s"]
            )
            let took = ContinuousClock.now - started
            await holder.close()
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let rehearsal = try #require(try Self.json(output.standardOutput)["rehearsal"] as? [String: Any])
            #expect(rehearsal["ran"] as? Bool == false)
            #expect((rehearsal["reason"] as? String)?.contains("pg_dump") == true, "\(rehearsal)")
            #expect(
                took < .seconds(40),
                "pg_dump gave up after its 2 s lock wait (queued, it would wait forever): \(took)"
            )
        }
    }

    @Test(
        "the database's own search_path (not in a schema dump) is the rehearsal's default: RESET search_path returns to it"
    )
    func databaseSearchPath() async throws {
        try await ScratchDatabase.with { database in
            try await prepare(database)
            let setup = try await database.session("setup")
            _ = try await setup.query("CREATE SCHEMA archive")
            _ = try await setup.query("CREATE TABLE archive.orders (id int)")
            _ = try await setup.query("ALTER DATABASE \(database.name) SET search_path = archive, public")
            await setup.close()
            let file = try Self.write(
                "SET search_path TO public;\nRESET search_path;\nALTER TABLE orders ADD COLUMN c int;\n"
            )
            defer { try? FileManager.default.removeItem(atPath: file) }
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--sql", file, "--json", "--sample", "0.1s"]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let statements = try #require(try Self.json(output.standardOutput)["statements"] as? [[String: Any]])
            let locks = try #require(statements.last?["locks"] as? [[String: Any]])
            #expect(locks.map { "\($0["relation"] ?? "") \($0["source"] ?? "")" } == ["archive.orders rehearsal"])
        }
    }
}
