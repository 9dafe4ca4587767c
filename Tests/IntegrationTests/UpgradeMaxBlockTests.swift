import Foundation
import Postgres
import TestSupport
import Testing

/// `--request-timeout` against the forecast's seconds, and `[preflight] max_block` (in the serialized upgrade suite:
/// the runs share one crontab user).
extension UpgradeTests {
    /// `big`: some 170 MB with a primary key and a text index, vacuumed so that the catalog knows its size; its rewrite takes
    /// seconds here.
    static func fillBig(_ database: ScratchDatabase) async throws {
        let setup = try await database.session("setup")
        _ = try await setup.query("CREATE TABLE big (id bigint PRIMARY KEY, n int, pad text)")
        _ = try await setup.query(
            "INSERT INTO big SELECT g, g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 1500000) AS g"
        )
        // A text index too: the rewrite rebuilds it, the slowest part, so that the whole takes seconds here.
        _ = try await setup.query("CREATE INDEX big_pad_text ON big (pad)")
        _ = try await setup.query("VACUUM ANALYZE big")
        await setup.close()
    }

    static func migrationFile(_ sql: String) throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-maxblock-" + UUID().uuidString + ".sql"
        try sql.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static var psqlPath: String {
        (ProcessInfo.processInfo.environment["PGWARDEN_PG_BIN"] ?? "/usr/bin") + "/psql"
    }

    /// `upgrade` running `file` through psql, its forecast from the same file.
    private static func psqlUpgrade(
        _ fixture: UpgradeFixture,
        _ database: ScratchDatabase,
        _ file: String,
        _ options: [String] = []
    ) throws -> RunningCommand {
        try RunningCommand(
            fixture.arguments(options + ["--forecast-sql", file])
                + ["--", psqlPath, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "dbname=\(database.name)", "-f", file]
        )
    }

    /// Until the migration's session holds `mode` on `big`, as pg_locks says.
    static func waitUntilHeld(_ mode: String, by observer: Connection) async throws {
        try await eventually("the migration holds \(mode) on big", timeout: .seconds(120)) {
            let rows = try await observer.query(
                """
                SELECT 1 FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation
                WHERE c.relname = 'big' AND l.mode = $1 AND l.granted
                """,
                [mode]
            )
            return !rows.rows.isEmpty
        }
    }

    @Test(
        "a rewrite that outlasts --request-timeout 1s: the verdict names it; max_block = \"request-timeout\" refuses, nothing changes"
    )
    func maxBlockRefuses() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            try await Self.fillBig(database)
            let bystander = try await database.session("bystander")
            let bystanderPID = await bystander.backendPID
            let file = try Self.migrationFile("BEGIN;\nALTER TABLE big ALTER COLUMN n TYPE bigint;\nCOMMIT;\n")
            defer { try? FileManager.default.removeItem(atPath: file) }
            let policy = NSTemporaryDirectory() + "pgwarden-maxblock-" + UUID().uuidString + ".toml"
            try "[preflight]\nmax_block = \"request-timeout\"\n".write(
                toFile: policy,
                atomically: true,
                encoding: .utf8
            )
            defer { try? FileManager.default.removeItem(atPath: policy) }
            let output = try await PGWardenCommand.run(
                fixture.arguments([
                    "--request-timeout", "1s", "--policy", policy, "--forecast-sql", file,
                ]) + ["--", Self.psqlPath, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file]
            )
            #expect(output.status != 0)
            let combined = output.standardOutput + output.standardError
            #expect(
                combined.contains("verdict: public.big's reads and writes are expected to stay blocked ~"),
                Comment(rawValue: combined)
            )
            #expect(combined.contains("longer than the request timeout (1s)"), Comment(rawValue: combined))
            let errors = output.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1, Comment(rawValue: output.standardError))
            let error = String(errors.first ?? "")
            #expect(error.contains("public.big: reads and writes blocked by statements 2 to 3 for up to "), "\(error)")
            #expect(error.contains("rewrite "), "\(error)")
            #expect(error.contains("more than max_block = \"request-timeout\" (1s)"), "\(error)")
            let hint = output.standardError.split(separator: "\n").first { $0.hasPrefix("hint:") } ?? ""
            #expect(hint.contains("nothing has changed") && hint.contains("safer: "), "\(hint)")
            // Nothing changed: the crontab, the table, the revision; the bystander was not signalled.
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            let check = try await database.session("check")
            let type = try await check.query(
                "SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute"
                    + " WHERE attrelid = 'big'::regclass AND attname = 'n'"
            )
            #expect(try type.rows.first?.require(String.self, "type") == "integer")
            let revision = try await check.query("SELECT version_num FROM alembic_version")
            #expect(try revision.rows.first?.require(String.self, "version_num") == "0001")
            _ = try await bystander.query("SELECT 1")
            #expect(await bystander.backendPID == bystanderPID)
            await check.close()
            await bystander.close()
        }
    }

    @Test("without max_block the rewrite runs: the reader it queued is in the report's lock_holds")
    func withoutMaxBlockTheRunGoesOn() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            try await Self.fillBig(database)
            // The rewrite, then a pause under its lock so that the reader surely queues behind the lock held.
            let file = try Self.migrationFile(
                "BEGIN;\nALTER TABLE big ALTER COLUMN n TYPE bigint;\nSELECT pg_sleep(3);\nCOMMIT;\n"
            )
            defer { try? FileManager.default.removeItem(atPath: file) }
            let run = try Self.psqlUpgrade(fixture, database, file, ["--request-timeout", "1s"])
            defer { run.kill() }
            let observer = try await database.session("observer")
            try await Self.waitUntilHeld("AccessExclusiveLock", by: observer)
            let reader = try await database.startBlockedStatement("SELECT count(*) FROM big", "web")
            try await run.waitForStandardOutput(
                "holds AccessExclusiveLock on public.big: 1 session queued",
                timeout: .seconds(60)
            )
            let status = try await run.waitForExit(timeout: .seconds(120))
            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            try await reader.task.value
            #expect(run.standardOutput.contains("verdict: public.big's reads and writes are expected to stay blocked"))
            let report = try fixture.report()
            let holds = try #require(report["lock_holds"] as? [[String: Any]], "\(report)")
            let big = holds.first { $0["relation"] as? String == "public.big" }
            #expect(big?["mode"] as? String == "AccessExclusiveLock", "\(holds)")
            #expect((big?["queued_max"] as? Int ?? 0) >= 1, "\(holds)")
            await reader.session.close()
            await observer.close()
        }
    }

    @Test(
        "a writer queued behind CREATE INDEX: the log names the hold with PostgreSQL's progress and the forecast's estimate"
    )
    func holdProgress() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            try await Self.fillBig(database)
            let file = try Self.migrationFile("CREATE INDEX big_pad ON big (pad, n);\n")
            defer { try? FileManager.default.removeItem(atPath: file) }
            let run = try Self.psqlUpgrade(fixture, database, file)
            defer { run.kill() }
            let observer = try await database.session("observer")
            try await Self.waitUntilHeld("ShareLock", by: observer)
            let writer = try await database.startBlockedStatement("INSERT INTO big VALUES (0, 0, 'x')", "web")
            try await run.waitForStandardOutput(
                "holds ShareLock on public.big: 1 session queued",
                timeout: .seconds(60)
            )
            let status = try await run.waitForExit(timeout: .seconds(120))
            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            try await writer.task.value
            let line = run.standardOutput.split(separator: "\n").first { $0.contains("holds ShareLock on public.big") }
            #expect(line?.contains("; CREATE INDEX, building index") == true, "\(line ?? "")")
            #expect(line?.contains(" forecast, ") == true, "\(line ?? "")")
            await writer.session.close()
            await observer.close()
        }
    }
}
