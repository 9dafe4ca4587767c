import Foundation
import Postgres
import TestSupport
import Testing

/// Issue 22, adversarial finding H1: the rehearsal on the real server never runs code that is not PostgreSQL's own
/// (a function the script or the database defines, a trigger, a view's function), under `forecast --sql` and
/// `upgrade --dry-run`: a session in another database survives, no role is created, no file is written, and the
/// forecast says those statements were not rehearsed and why.
@Suite(
    "Forecast: the rehearsal runs no user code on the real server",
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason)
)
struct ForecastRehearsalUserCodeTests {
    /// What the hostile code would do, and how to tell it did.
    struct Harm {
        let victim = TestCluster.uniqueName("adv_victim")
        let role = TestCluster.uniqueName("adv_role")
        let file = NSTemporaryDirectory() + TestCluster.uniqueName("adv_file")

        /// PL/pgSQL statements doing all three.
        var body: String {
            """
            PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\(victim)';
            EXECUTE 'CREATE ROLE \(role)';
            EXECUTE $c$COPY (SELECT 1) TO PROGRAM 'touch \(file)'$c$;
            """
        }
    }

    enum Mode: String, CaseIterable, CustomTestStringConvertible {
        case forecast = "forecast --sql"
        case dryRun = "upgrade --dry-run"
        var testDescription: String { rawValue }
    }

    /// The script, the schema of the real database, and the statements (1-based) that must not be rehearsed.
    static func scenarios(_ harm: Harm) -> [(schema: [String], script: String, skipped: [Int: String])] {
        [
            (
                [],
                """
                CREATE FUNCTION adv_kill() RETURNS void LANGUAGE sql AS $f$ SELECT pg_terminate_backend(pid)
                  FROM pg_stat_activity WHERE application_name = '\(harm.victim)' $f$;
                SELECT adv_kill();
                CREATE FUNCTION adv_harm() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) END $f$;
                SELECT adv_harm();
                """,
                [2: "adv_kill()", 4: "adv_harm()"]
            ),
            (
                [
                    "CREATE FUNCTION adv_trig() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) RETURN NULL; END $f$",
                    "CREATE TRIGGER adv AFTER UPDATE ON orders FOR EACH STATEMENT EXECUTE FUNCTION adv_trig()",
                    "CREATE FUNCTION adv_pred() RETURNS bool LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) RETURN true; END $f$",
                    "CREATE VIEW adv_view AS SELECT id FROM orders WHERE adv_pred()",
                    "CREATE VIEW adv_view2 AS SELECT id FROM adv_view",
                ],
                """
                UPDATE orders SET id = id WHERE id < 0;
                SELECT * FROM adv_view;
                ALTER TABLE orders ADD COLUMN c int;
                SELECT * FROM adv_view2;
                """,
                [1: "trigger adv calls adv_trig()", 2: "adv_pred()", 4: "adv_pred()"]
            ),
            (
                // Names resolve as the migration's session resolves them: its temporary orders has no trigger.
                [
                    "CREATE FUNCTION adv_trig() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) RETURN NULL; END $f$",
                    "CREATE TRIGGER adv AFTER UPDATE ON orders FOR EACH STATEMENT EXECUTE FUNCTION adv_trig()",
                ],
                "CREATE TEMP TABLE orders (id int);\nUPDATE orders SET id = id WHERE id < 0;\n",
                [:]
            ),
            (
                // The copy's event triggers are disabled: the rehearsal's DDL fires none, and is rehearsed.
                [
                    "CREATE FUNCTION adv_evt() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) END $f$",
                    "CREATE EVENT TRIGGER adv_evt ON ddl_command_end EXECUTE FUNCTION adv_evt()",
                ],
                "ALTER TABLE orders ADD COLUMN c int;\nCREATE TABLE other (id int);\n",
                [:]
            ),
            (
                // What the copy said of a relation is asked again once DDL ran: the trigger created in between fires.
                [
                    "CREATE FUNCTION adv_trig() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) RETURN NULL; END $f$"
                ],
                """
                UPDATE orders SET id = id WHERE id < 0;
                CREATE TRIGGER adv AFTER UPDATE ON orders FOR EACH STATEMENT EXECUTE FUNCTION adv_trig();
                UPDATE orders SET id = id WHERE id < 0;
                """,
                [3: "trigger adv calls adv_trig()"]
            ),
            (
                // ... and once set_config() may have moved search_path: the same name is another relation.
                [
                    "CREATE SCHEMA archive", "CREATE TABLE archive.orders (id int)",
                    "CREATE FUNCTION adv_trig() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) RETURN NULL; END $f$",
                    "CREATE TRIGGER adv AFTER UPDATE ON archive.orders FOR EACH STATEMENT EXECUTE FUNCTION adv_trig()",
                ],
                """
                UPDATE orders SET id = id WHERE id < 0;
                SELECT set_config('search_path', 'archive', false);
                UPDATE orders SET id = id WHERE id < 0;
                """,
                [3: "trigger adv calls adv_trig()"]
            ),
            (
                // A cast the script creates runs its function where a value is converted: named as the cast's type.
                [],
                """
                CREATE TYPE adv_evt AS ENUM ('a');
                CREATE FUNCTION adv_cast(int) RETURNS adv_evt LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) RETURN 'a'; END $f$;
                CREATE CAST (int AS adv_evt) WITH FUNCTION adv_cast(int) AS ASSIGNMENT;
                SELECT 1::adv_evt;
                ALTER TABLE orders ADD COLUMN f adv_evt DEFAULT 1;
                """,
                [4: "adv_evt", 5: "adv_evt"]
            ),
            (
                // A cast in the database: an INSERT converts through it with no function or type named.
                [
                    "CREATE TYPE adv_evt AS ENUM ('a')",
                    "CREATE FUNCTION adv_cast(int) RETURNS adv_evt LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) RETURN 'a'; END $f$",
                    "CREATE CAST (int AS adv_evt) WITH FUNCTION adv_cast(int) AS ASSIGNMENT",
                    "CREATE TABLE adv_t (e adv_evt)",
                ],
                "INSERT INTO adv_t VALUES (1);\nSELECT 1::adv_evt;\nSELECT 1;\n",
                [1: "adv_cast()", 2: "adv_evt"]
            ),
            (
                // An operator = in plpgsql, picked over pg_catalog's, in the forms that imply it.
                [
                    "CREATE FUNCTION adv_eq(int, text) RETURNS bool LANGUAGE plpgsql AS $f$ BEGIN \(harm.body) RETURN true; END $f$",
                    "CREATE OPERATOR public.= (LEFTARG = int, RIGHTARG = text, FUNCTION = adv_eq)",
                ],
                """
                SELECT CASE 1 WHEN 'x'::text THEN 1 END;
                SELECT 1 IN (SELECT 'x'::text);
                SELECT 1 = ANY (SELECT 'x'::text);
                SELECT 1;
                """,
                [1: "operator =", 2: "operator =", 3: "operator ="]
            ),
            (
                // What every database of the server shares: locked, rewritten, checkpointed. A plain read is rehearsed.
                [],
                """
                LOCK TABLE pg_catalog.pg_authid IN ACCESS EXCLUSIVE MODE;
                REINDEX TABLE pg_database;
                VACUUM;
                CHECKPOINT;
                SELECT count(*) FROM pg_catalog.pg_authid;
                """,
                [1: "pg_authid", 2: "pg_database", 3: "every table", 4: "checkpoints"]
            ),
        ]
    }

    @Test(
        "functions, a statement-level trigger (also one created or brought into view by search_path between two runs of the same UPDATE), a view's function and an event trigger are not run on the copy",
        arguments: Mode.allCases
    )
    func userCodeNotRun(_ mode: Mode) async throws {
        for index in Self.scenarios(Harm()).indices {
            let harm = Harm()
            let (schema, script, skipped) = Self.scenarios(harm)[index]
            try await ScratchDatabase.with { database in
                let setup = try await database.session("setup")
                for statement in ["CREATE TABLE orders (id int)"] + schema { _ = try await setup.query(statement) }
                await setup.close()
                let victim = try await TestCluster.administrator()
                _ = try await victim.query("SET application_name = '\(harm.victim)'")
                let victimPid = try await victim.query("SELECT pg_backend_pid() AS pid").rows[0].require(
                    Int.self,
                    "pid"
                )
                let file = NSTemporaryDirectory() + "pgwarden-adv-" + UUID().uuidString + ".sql"
                try script.write(toFile: file, atomically: true, encoding: .utf8)
                defer { try? FileManager.default.removeItem(atPath: file) }
                let output = try await run(mode, database, file)
                #expect(output.status == 0, Comment(rawValue: output.standardError))

                let observer = try await TestCluster.administrator()
                let alive = try await observer.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [victimPid]).rows
                #expect(alive.count == 1, "the victim session in another database was terminated")
                let roles = try await observer.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [harm.role]).rows
                #expect(roles.isEmpty, "a role was created")
                #expect(!FileManager.default.fileExists(atPath: harm.file), "a file was written")
                try? FileManager.default.removeItem(atPath: harm.file)
                if !roles.isEmpty { _ = try? await observer.query("DROP ROLE \(harm.role)") }
                await observer.close()
                await victim.close()

                if mode == .forecast {
                    let json = try #require(
                        try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
                    )
                    #expect((json["rehearsal"] as? [String: Any])?["ran"] as? Bool == true)
                    let statements = try #require(json["statements"] as? [[String: Any]])
                    for (offset, statement) in statements.enumerated() where skipped[offset + 1] == nil {
                        let notes = statement["notes"] as? [String] ?? []
                        #expect(!notes.contains { $0.hasPrefix("not rehearsed") }, "statement \(offset + 1): \(notes)")
                    }
                    for (number, named) in skipped {
                        let notes = statements[number - 1]["notes"] as? [String] ?? []
                        #expect(
                            notes.contains { $0.hasPrefix("not rehearsed (") && $0.contains(named) },
                            "statement \(number): \(notes)"
                        )
                        #expect(notes.contains { $0.contains("--rehearse-dsn rehearses it on a server of its own") })
                    }
                } else if !skipped.isEmpty {
                    #expect(output.standardOutput.contains("not rehearsed"), Comment(rawValue: output.standardOutput))
                }
            }
        }
    }

    @Test(
        "a foreign table (postgres_fdw back into this server) is not read on the copy; IMPORT FOREIGN SCHEMA is not run"
    )
    func foreignTable() async throws {
        try await ScratchDatabase.with { database in
            let setup = try await database.session("setup")
            let available = try await setup.query(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgres_fdw'"
            ).rows
            guard !available.isEmpty else {
                await setup.close()
                return
            }
            for statement in [
                "CREATE EXTENSION postgres_fdw",
                "CREATE SERVER adv_loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'postgres')",
                "CREATE USER MAPPING FOR CURRENT_USER SERVER adv_loop",
                "CREATE FOREIGN TABLE adv_remote (datname name) SERVER adv_loop OPTIONS (table_name 'pg_database')",
            ] {
                _ = try await setup.query(statement)
            }
            await setup.close()
            let file = NSTemporaryDirectory() + "pgwarden-adv-" + UUID().uuidString + ".sql"
            try "SELECT * FROM adv_remote;\nIMPORT FOREIGN SCHEMA public FROM SERVER adv_loop INTO public;\n".write(
                toFile: file,
                atomically: true,
                encoding: .utf8
            )
            defer { try? FileManager.default.removeItem(atPath: file) }
            let output = try await run(.forecast, database, file)
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
            )
            let statements = try #require(json["statements"] as? [[String: Any]])
            let select = statements[0]["notes"] as? [String] ?? []
            #expect(
                select.contains { $0.hasPrefix("not rehearsed (") && $0.contains("foreign server adv_loop") },
                "\(select)"
            )
            let importing = statements[1]["notes"] as? [String] ?? []
            #expect(
                importing.contains { $0.contains("it connects to another server on the real server") },
                "\(importing)"
            )
        }
    }

    private func run(_ mode: Mode, _ database: ScratchDatabase, _ file: String) async throws -> PGWardenCommand.Output {
        switch mode {
        case .forecast:
            return try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--sql", file, "--json", "--sample", "0.1s"]
            )
        case .dryRun:
            let state = NSTemporaryDirectory() + "pgwarden-adv-state-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: state) }
            return try await PGWardenCommand.run(
                [
                    "upgrade", "--dsn", database.connectionString, "--state-dir", state, "--no-interactive",
                    "--dry-run", "--forecast-sql", file, "--", "/bin/true",
                ],
                environment: [:]
            )
        }
    }
}
