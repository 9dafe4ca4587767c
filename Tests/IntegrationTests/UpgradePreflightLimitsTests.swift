import Foundation
import Postgres
import TestSupport
import Testing

/// `[preflight]`'s limits are never passed around: a partitioned table counts its partitions, and a statement the
/// forecast could not see refuses the run.
extension UpgradeForecastTests {
    /// `upgrade --forecast-sql` of `migration` (run by psql) under `policy`, on a database made by `schema`.
    private func upgradeUnder(policy: String, schema: [String], migration: String) async throws
        -> (output: PGWardenCommand.Output, changed: Bool)
    {
        try await ScratchDatabase.with { database in
            let setup = try await database.session("setup")
            for statement in schema { _ = try await setup.query(statement) }
            let file = NSTemporaryDirectory() + "pgwarden-limits-" + UUID().uuidString + ".sql"
            try migration.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let psql = (ProcessInfo.processInfo.environment["PGWARDEN_PG_BIN"] ?? "/usr/bin") + "/psql"
            let output = try await upgrade(
                database,
                ["--policy", try Self.policy(policy), "--forecast-sql", file],
                [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file]
            )
            let marker =
                try await setup.query("SELECT to_regclass('ran_marker') IS NOT NULL AS ran").rows.first?
                .require(Bool.self, "ran") ?? true
            await setup.close()
            return (output, marker)
        }
    }

    @Test(
        "[preflight] max_rewrite_mb on a partitioned table counts its partitions: the rewrite is refused, nothing runs"
    )
    func preflightRefusesPartitionedRewrite() async throws {
        let run = try await upgradeUnder(
            policy: "[preflight]\nmax_rewrite_mb = 1",
            schema: [
                "CREATE TABLE events (id int, happened date NOT NULL, kind text) PARTITION BY RANGE (happened)",
                "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
                "INSERT INTO events SELECT g, '2026-03-01', repeat('x', 100) FROM generate_series(1, 20000) AS g",
                "ANALYZE events",
            ],
            migration: "CREATE TABLE ran_marker ();\nALTER TABLE events ALTER COLUMN id TYPE bigint;\n"
        )
        #expect(run.output.status != 0)
        #expect(!run.changed, "the migration did not run")
        let errors = run.output.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1, Comment(rawValue: run.output.standardError))
        #expect(
            errors.first?.contains("statement 2 rewrites 2.") == true
                && errors.first?.contains("MB of public.events under AccessExclusiveLock: more than max_rewrite_mb = 1")
                    == true,
            Comment(rawValue: run.output.standardError)
        )
        // No session is in the way of a rewrite that is too big: the hint does not say to end one.
        let hint = run.output.standardError.split(separator: "\n").first { $0.hasPrefix("hint:") }
        #expect(hint?.contains("change the migration or change the policy's [preflight]") == true, "\(hint ?? "")")
    }

    @Test(
        "[preflight] a file that is only a DO block: max_rewrite_mb and refuse_if_waits_on_protected cannot be checked, the run is refused"
    )
    func preflightRefusesUnforecastDoBlock() async throws {
        let run = try await upgradeUnder(
            policy: "[preflight]\nmax_rewrite_mb = 100\nrefuse_if_waits_on_protected = true",
            schema: ["CREATE TABLE t (id int)"],
            migration: "DO $$BEGIN CREATE TABLE ran_marker (); ALTER TABLE t ADD COLUMN c int; END$$;\n"
        )
        #expect(run.output.status != 0)
        #expect(!run.changed, "the migration did not run")
        let errors = run.output.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(
            errors == [
                "error: [preflight] refuses the run: statement 1 (DO runs code whose statements the forecast cannot see)"
                    + " is not forecast, so refuse_if_waits_on_protected and max_rewrite_mb cannot be checked on it"
            ],
            Comment(rawValue: run.output.standardError)
        )
    }
}
