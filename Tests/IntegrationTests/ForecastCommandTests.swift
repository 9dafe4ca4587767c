import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden forecast` run as an operator runs it, against a real server with real sessions holding locks.
@Suite("pgwarden forecast", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct ForecastCommandTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test("a live idle-in-transaction holder is named for the statement that would wait on it, and nothing runs")
    func namesTheIdleHolder() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("t")
            let reader = try await database.idleInTransactionReader(of: "t", "monthly-report")
            let readerPID = await reader.backendPID
            let file = try Self.write("SELECT v FROM t WHERE id = 1;\nALTER TABLE t ADD COLUMN c int;\n")
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--sql", file, "--json", "--request-timeout", "60s"]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let statements = try Self.statements(output.standardOutput)
            #expect(statements.count == 2)
            #expect((statements[0]["conflicts_now"] as? [Any])?.isEmpty == true)
            let conflicts = try #require(statements[1]["conflicts_now"] as? [[String: Any]])
            #expect(conflicts.count == 1)
            #expect(conflicts.first?["pid"] as? Int == Int(readerPID))
            #expect(conflicts.first?["mode"] as? String == "AccessShareLock")
            #expect(conflicts.first?["state"] as? String == "idle in transaction")
            #expect(conflicts.first?["application_name"] as? String == "monthly-report")
            #expect(conflicts.first?["query"] as? String == "SELECT count(*) FROM t")
            let verdict = try #require(statements[1]["verdict"] as? String)
            #expect(verdict.hasPrefix("will wait on pid \(readerPID) now; blocks reads and writes"))
            let locks = try #require(statements[1]["locks"] as? [[String: Any]])
            #expect(locks.first?["relation"] as? String == "public.t")
            #expect(locks.first?["mode"] as? String == "AccessExclusiveLock")
            #expect(locks.first?["held_until"] as? String == "statement")
            // The forecast never ran the migration: no column c.
            let check = try await database.session()
            let columns = try await check.query(
                "SELECT count(*) AS n FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c'"
            )
            #expect(try columns.rows.first?.require(Int.self, "n") == 0)
            await check.close()
            await reader.close()
        }
    }

    @Test(
        "a session holding AccessExclusiveLock: the forecast takes no lock itself, so it does not queue, and names it"
    )
    func doesNotQueueBehindAnAccessExclusiveHolder() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("t")
            let holder = try await database.session("running-migration")
            _ = try await holder.query("BEGIN")
            _ = try await holder.query("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            let holderPID = await holder.backendPID
            let file = try Self.write("SELECT count(*) FROM t;")
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--sql", file, "--json"]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let statements = try Self.statements(output.standardOutput)
            let conflicts = try #require(statements.first?["conflicts_now"] as? [[String: Any]])
            #expect(conflicts.map { $0["pid"] as? Int } == [Int(holderPID)])
            #expect(conflicts.first?["mode"] as? String == "AccessExclusiveLock")
            #expect(
                (statements.first?["verdict"] as? String)?.hasPrefix("will wait on pid \(holderPID) now; reads only")
                    == true
            )
            await holder.close()
        }
    }

    @Test("the text forecast names the holder, its state and application")
    func textNamesTheHolder() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("t")
            let reader = try await database.idleInTransactionReader(of: "t", "monthly-report")
            let readerPID = await reader.backendPID
            let file = try Self.write("ALTER TABLE t ALTER COLUMN v TYPE bigint;")
            let output = try await PGWardenCommand.run(["forecast", "--dsn", database.connectionString, "--sql", file])
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            #expect(
                output.standardOutput.contains(
                    "verdict: will wait on pid \(readerPID) now; blocks reads and writes; rewrites"
                )
            )
            #expect(output.standardOutput.contains("now: pid \(readerPID) (idle in transaction"))
            #expect(output.standardOutput.contains("monthly-report) holds AccessShareLock on public.t"))
            await reader.close()
        }
    }

    @Test("SQL from standard input; a hostile query of another session reaches the terminal escaped")
    func standardInputAndHostileText() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("t")
            let hostile = try await database.session("report\u{1b}[2J")
            _ = try await hostile.query("BEGIN")
            _ = try await hostile.query("SELECT count(*) FROM t /* \u{1b}[2J\u{7} */")
            let output = try await TestCrontab.runOffPool(
                PGWardenCommand.executable.path,
                ["forecast", "--dsn", database.connectionString, "--sql", "-"],
                input: "ALTER TABLE t ADD COLUMN c int;\n"
            )
            #expect(output.status == 0, Comment(rawValue: output.error))
            #expect(output.output.hasPrefix("forecast of standard input: 1 statement(s)"))
            #expect(!output.output.contains("\u{1b}") && !output.output.contains("\u{7}"))
            #expect(output.output.contains(#"SELECT count(*) FROM t /* \e[2J\x07 */"#), "\(output.output)")
            await hostile.close()
        }
    }

    @Test("the Alembic fixture: the pending revision's ALTER, held until Alembic's COMMIT")
    func alembicFixture() async throws {
        try await ScratchDatabase.with { database in
            let alembic = Self.packageRoot + "/.venv/bin/alembic"
            let ini = Self.packageRoot + "/Tests/Fixtures/alembic/alembic.ini"
            let upgraded = try await TestCrontab.runOffPool(
                "/usr/bin/env",
                ["PGDATABASE=\(database.name)", alembic, "-c", ini, "upgrade", "0001"]
            )
            #expect(upgraded.status == 0)
            let output = try await PGWardenCommand.run(
                [
                    "forecast", "--dsn", database.connectionString, "--json", "--alembic-command", alembic, "--alembic",
                    "-c", ini,
                ]
            )  // no PGDATABASE: Alembic gets libpq's environment of --dsn, as the migration would
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let forecast = try #require(
                try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
            )
            #expect(forecast["source"] as? String == "alembic upgrade 0001:head --sql")
            let statements = try #require(forecast["statements"] as? [[String: Any]])
            #expect(statements.map { $0["sql"] as? String ?? "" }.first == "BEGIN")
            let alter = try #require(
                statements.first { ($0["sql"] as? String) == "ALTER TABLE orders ADD COLUMN note text" }
            )
            let commit = try #require(statements.last { ($0["sql"] as? String) == "COMMIT" })
            let lock = try #require((alter["locks"] as? [[String: Any]])?.first)
            #expect(lock["relation"] as? String == "public.orders")
            #expect(lock["mode"] as? String == "AccessExclusiveLock")
            #expect(lock["held_until"] as? String == "transaction")
            #expect(lock["released_at"] as? Int == commit["number"] as? Int)
            let version = try #require(
                statements.first { ($0["sql"] as? String)?.hasPrefix("UPDATE alembic_version") == true }
            )
            let held = try #require(version["still_held"] as? [[String: Any]])
            #expect(held.first?["relation"] as? String == "public.orders")
            #expect(held.first?["mode"] as? String == "AccessExclusiveLock")
        }
    }

    @Test(
        "a migration that cannot render offline is named, with Alembic's last line; the forecast covers nothing before it"
    )
    func alembicOfflineFailure() async throws {
        try await ScratchDatabase.with { database in
            let project = NSTemporaryDirectory() + "pgwarden-forecast-alembic-" + UUID().uuidString
            try FileManager.default.copyItem(atPath: Self.packageRoot + "/Tests/Fixtures/alembic", toPath: project)
            defer { try? FileManager.default.removeItem(atPath: project) }
            try """
            from alembic import op
            import sqlalchemy as sa

            revision = "0003"
            down_revision = "0002"


            def upgrade():
                count = op.get_bind().execute(sa.text("SELECT count(*) FROM orders")).scalar()
                op.execute(f"COMMENT ON TABLE orders IS '{count} orders'")
            """.write(toFile: project + "/versions/0003_data.py", atomically: true, encoding: .utf8)
            let alembic = Self.packageRoot + "/.venv/bin/alembic"
            let upgraded = try await TestCrontab.runOffPool(
                "/usr/bin/env",
                ["PGDATABASE=\(database.name)", alembic, "-c", project + "/alembic.ini", "upgrade", "0002"]
            )
            #expect(upgraded.status == 0)
            let output = try await PGWardenCommand.run(
                [
                    "forecast", "--dsn", database.connectionString, "--json", "--alembic-command", alembic, "--alembic",
                    "-c", project + "/alembic.ini",
                ],
                environment: ["PGDATABASE": database.name]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let forecast = try #require(
                try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
            )
            let warnings = try #require(forecast["warnings"] as? [String])
            #expect(warnings.first?.contains("failed at revision 0003") == true)
            #expect(warnings.first?.contains("AttributeError") == true)
            #expect(warnings.contains("the forecast covers nothing"))
            let notForecast = try #require(forecast["not_forecast"] as? [String])
            #expect(notForecast.contains { $0.hasPrefix("revision 0003 and any after it") }, "\(notForecast)")
        }
    }

    @Test("--alembic as a role that may not read alembic_version: one error line, and the grant that fixes it")
    func alembicVersionUnreadable() async throws {
        try await ScratchDatabase.with { database in
            let alembic = Self.packageRoot + "/.venv/bin/alembic"
            let ini = Self.packageRoot + "/Tests/Fixtures/alembic/alembic.ini"
            let upgraded = try await TestCrontab.runOffPool(
                "/usr/bin/env",
                ["PGDATABASE=\(database.name)", alembic, "-c", ini, "upgrade", "0001"]
            )
            #expect(upgraded.status == 0)
            let admin = try await TestCluster.administrator()
            let role = TestCluster.uniqueName("pgw_noalembic")
            _ = try await admin.query("CREATE ROLE \(role) LOGIN")
            let output = try await PGWardenCommand.run([
                "forecast", "--dsn", "dbname=\(database.name) user=\(role)", "--alembic-command", alembic, "--alembic",
                "-c", ini,
            ])
            _ = try await admin.query("DROP ROLE \(role)")
            #expect(output.status == 1, Comment(rawValue: output.standardError))
            #expect(
                output.standardError
                    == "error: role \(role) may not read alembic_version, so the pending revisions cannot be told\n"
                    + "hint: GRANT SELECT ON alembic_version TO \(role), or forecast the SQL with --sql FILE\n",
                Comment(rawValue: output.standardError)
            )
        }
    }

    @Test("an unparseable statement: its number, position and message, and the rest is still forecast")
    func unparseableStatement() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("t")
            let file = try Self.write(
                "ALTER TABLE t ADD COLUMN a int;\nALTER TABLE t ADD COLUMN b intt intt;\nCREATE INDEX ON t (v);\n"
            )
            let output = try await PGWardenCommand.run([
                "forecast", "--dsn", database.connectionString, "--sql", file, "--json",
            ])
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let forecast = try #require(
                try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
            )
            let warnings = try #require(forecast["warnings"] as? [String])
            // On a server newer than the parser's grammar (15), the warning says so.
            let major = Int(try await TestCluster.serverVersion().prefix { $0 != "." }) ?? 0
            let newer =
                major > 15
                ? " (the server runs PostgreSQL \(major): this may be syntax newer than the parser's grammar)" : ""
            #expect(
                warnings.contains(
                    "statement 2 is not forecast: PostgreSQL 15's parser rejects it at line 2, column 33: syntax error at or near \"intt\""
                        + newer
                )
            )
            let statements = try #require(forecast["statements"] as? [[String: Any]])
            let index = try #require((statements[2]["locks"] as? [[String: Any]])?.first)
            #expect(index["mode"] as? String == "ShareLock")
        }
    }

    @Test("bad input: one error line, non-zero exit")
    func badInput() async throws {
        let missing = try await PGWardenCommand.run(["forecast", "--sql", "/nonexistent/migration.sql"])
        #expect(missing.status != 0)
        #expect(missing.standardError.hasPrefix("error: cannot read /nonexistent/migration.sql\n"))
        let both = try await PGWardenCommand.run(["forecast", "--sql", "x.sql", "--alembic"])
        #expect(both.status != 0)
        #expect(both.standardError.contains("error: give exactly one of --sql FILE, --alembic and --django"))
        let djangoAndAlembic = try await PGWardenCommand.run(["forecast", "--django", "--alembic"])
        #expect(djangoAndAlembic.status != 0)
        #expect(
            djangoAndAlembic.standardError.contains("error: give exactly one of --sql FILE, --alembic and --django")
        )
        let oneTransaction = try await PGWardenCommand.run(["forecast", "--single-transaction", "--django"])
        #expect(oneTransaction.status != 0)
        #expect(oneTransaction.standardError.contains("error: --single-transaction does not apply to --django"))
    }

    private static func write(_ sql: String) throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-forecast-" + UUID().uuidString + ".sql"
        try sql.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private static func statements(_ json: String) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return object?["statements"] as? [[String: Any]] ?? []
    }
}
