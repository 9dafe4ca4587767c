import Foundation
import Postgres
import TestSupport
import Testing

/// `[preflight]` acts only on locks the statement takes for certain: the three wrong terminations of issue 22, each
/// with real idle sessions that the migration never waits on and that must be left alone.
extension UpgradeForecastTests {
    /// Runs `migration` under `upgrade --forecast-sql` with `terminate_idle_in_transaction = "200ms"` while `idle`
    /// sessions (each a statement run in an open transaction) sit idle; returns the output and the sessions' pids.
    private func upgradeBeside(
        schema: String,
        idle: [String],
        migration: String
    ) async throws -> (output: PGWardenCommand.Output, pids: [Int32], alive: [Bool]) {
        try await ScratchDatabase.with { database in
            let setup = try await database.session("setup")
            for statement in schema.split(separator: ";") { _ = try await setup.query(String(statement)) }
            await setup.close()
            var sessions: [Connection] = []
            for (index, statement) in idle.enumerated() {
                let session = try await database.session("idle-\(index)")
                _ = try await session.query("BEGIN")
                _ = try await session.query(statement)
                sessions.append(session)
            }
            let observer = try await database.session("observer")
            var pids: [Int32] = []
            for session in sessions {
                let pid = await session.backendPID
                pids.append(pid)
                try await Self.waitUntilTransactionOlder(than: 300, pid, observer: observer)
            }
            let file = NSTemporaryDirectory() + "pgwarden-certain-" + UUID().uuidString + ".sql"
            try migration.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let policy = try Self.policy("[preflight]\nterminate_idle_in_transaction = \"200ms\"")
            let psql = (ProcessInfo.processInfo.environment["PGWARDEN_PG_BIN"] ?? "/usr/bin") + "/psql"
            // --max-lock-wait: had the migration waited on one of them, the run would end (75) instead of hanging.
            let output = try await upgrade(
                database,
                ["--policy", policy, "--forecast-sql", file, "--max-lock-wait", "20s"],
                [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file]
            )
            var alive: [Bool] = []
            for session in sessions {
                alive.append((try? await session.query("SELECT 1")) != nil)
                await session.close()
            }
            await observer.close()
            return (output, pids, alive)
        }
    }

    private func expectLeftAlone(_ run: (output: PGWardenCommand.Output, pids: [Int32], alive: [Bool])) {
        #expect(run.output.status == 0, Comment(rawValue: run.output.standardError + run.output.standardOutput))
        for (pid, alive) in zip(run.pids, run.alive) {
            #expect(alive, "pid \(pid) was left alone")
            #expect(
                !run.output.standardOutput.contains("terminated pid \(pid)")
                    && !run.output.standardOutput.contains("would wait on pid \(pid)"),
                Comment(rawValue: run.output.standardOutput)
            )
        }
    }

    @Test(
        "[preflight] CREATE TEMP TABLE orders shadows public.orders: the ALTER locks the temporary table, the reader of public.orders is left alone"
    )
    func preflightSparesReaderBehindTemporaryTable() async throws {
        let run = try await upgradeBeside(
            schema: "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)",
            idle: ["SELECT count(*) FROM orders"],
            migration: "CREATE TEMP TABLE orders (id int);\nALTER TABLE orders ADD COLUMN x int;\n"
        )
        expectLeftAlone(run)
        #expect(
            run.output.standardOutput.contains("locks only the session's own temporary table orders"),
            Comment(rawValue: run.output.standardOutput)
        )
    }

    @Test(
        "[preflight] SET search_path TO archive in the script: the ALTER locks archive.audit, the reader of public.audit is left alone"
    )
    func preflightSparesReaderOfOtherSchema() async throws {
        let run = try await upgradeBeside(
            schema: "CREATE SCHEMA archive; CREATE TABLE audit (id int); CREATE TABLE archive.audit (id int)",
            idle: ["SELECT count(*) FROM public.audit"],
            migration: "SET search_path TO archive;\nALTER TABLE audit ADD COLUMN x int;\n"
        )
        expectLeftAlone(run)
        #expect(
            run.output.standardOutput.contains("AccessExclusiveLock on archive.audit"),
            Comment(rawValue: run.output.standardOutput)
        )
    }

    @Test(
        "[preflight] CREATE INDEX on an inheritance parent locks only the parent: the idle writers of the child are left alone"
    )
    func preflightSparesWritersOfInheritanceChild() async throws {
        let run = try await upgradeBeside(
            schema: "CREATE TABLE parent_t (id int); CREATE TABLE child_t () INHERITS (parent_t)",
            idle: ["INSERT INTO child_t VALUES (1)", "INSERT INTO child_t VALUES (2)"],
            migration: "CREATE INDEX ON parent_t (id);\n"
        )
        expectLeftAlone(run)
        #expect(
            run.output.standardOutput.contains("ShareLock on public.parent_t")
                && !run.output.standardOutput.contains("ShareLock on public.child_t"),
            Comment(rawValue: run.output.standardOutput)
        )
    }
}
