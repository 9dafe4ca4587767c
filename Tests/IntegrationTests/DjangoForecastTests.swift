import Forecast
import ForecastInspection
import Foundation
import Postgres
import TestSupport
import Testing

/// The forecast of a real Django project's pending migrations (`migrate --plan`, `sqlmigrate`), checked against
/// PostgreSQL's own `pg_locks`.
@Suite("pgwarden forecast --django", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct DjangoForecastTests {
    @Test(
        "each pending migration's locks are those PostgreSQL takes (pg_locks), held to its COMMIT, or to the statement's end under atomic = False; RunPython named as not forecast"
    )
    func locksAgainstPgLocks() async throws {
        try await ScratchDatabase.with { database in
            try await DjangoFixture.prepare(database)
            var forecaster = MigrationForecaster(
                connectionString: database.connectionString,
                sampling: .milliseconds(10),
                requestTimeout: nil,
                logger: TestCluster.logger
            )
            forecaster.rehearser = Rehearser(
                connectionString: database.connectionString,
                rehearseConnectionString: nil,
                runID: "django_" + String(UInt32.random(in: 0...UInt32.max), radix: 16),
                logger: TestCluster.logger
            )
            let migrate = try #require(DjangoMigrate.recognise(DjangoFixture.migrate))
            let rendered = try await forecaster.djangoSQL(migrate)
            #expect(rendered.migrations.map(\.description) == DjangoFixture.pending)
            let forecast = try await forecaster.forecast(
                script: rendered.sql,
                source: rendered.source,
                warnings: rendered.warnings,
                uncovered: rendered.uncovered
            )
            guard case .ran = forecast.rehearsal else {
                Issue.record("no rehearsal: \(String(describing: forecast.rehearsal))")
                return
            }
            let statements = forecast.statements
            let alter = try #require(statements.first { $0.sql.hasPrefix("ALTER TABLE \"shop_order\" ADD COLUMN") })
            let index = try #require(statements.first { $0.sql.hasPrefix("CREATE INDEX \"shop_order_total_idx\"") })
            let commit = try #require(statements.first { $0.number > alter.number && $0.sql == "COMMIT" })
            #expect(alter.heldUntil == .transaction(endsAt: commit.number))
            #expect(index.heldUntil == .statement)  // atomic = False: no BEGIN around it
            #expect(index.transactionBegin == nil)
            #expect(
                forecast.notForecast == [
                    "migration shop.0004_fill_note's Raw Python operation (Python code, RunPython)"
                ]
            )
            #expect(
                forecast.warnings.contains(
                    "migration shop.0004_fill_note runs Python code (Raw Python operation), which is not forecast: the locks it takes are not known"
                ),
                "\(forecast.warnings)"
            )
            // Ground truth: each statement in a transaction of its own on the real database, its backend's
            // pg_locks read and rolled back; then run for real, so that the next one meets the schema it will.
            let runner = try await database.session("pgwarden-tests-django-ground-truth")
            let groundTruth = ForecastGroundTruthTests()
            for statement in [alter, index] {
                let locks = statement.analysis?.locks ?? []
                #expect(!locks.isEmpty && locks.allSatisfy(\.isCertain), "\(statement.sql): \(locks)")
                let actual = try await groundTruth.locksTaken(by: statement.sql, on: runner)
                let mismatch = ForecastGroundTruthTests.compare(locks, actual.modes, kinds: actual.kinds)
                #expect(mismatch == nil, "\(statement.sql): \(mismatch ?? "")")
                _ = try await runner.query(statement.sql)
            }
            #expect(alter.analysis?.locks.first?.mode == .accessExclusive)
            #expect(index.analysis?.locks.first?.mode == .share)
            await runner.close()
        }
    }

    @Test("manage.py's arguments after --django (a target): only the migrations up to it")
    func target() async throws {
        try await ScratchDatabase.with { database in
            try await DjangoFixture.prepare(database)
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--json", "--no-rehearsal", "--django"]
                    + [DjangoFixture.python, DjangoFixture.managePy, "shop", "0003"]
            )  // no PGDATABASE: Django gets libpq's environment of --dsn, as the migration would
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let forecast = try #require(
                try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
            )
            #expect(
                (forecast["source"] as? String)?.hasSuffix(
                    "migrate shop 0003: shop.0002_order_note (statements 1–3), shop.0003_order_total_index (statement 4)"
                ) == true,
                "\(forecast["source"] ?? "")"
            )
            let sql = (forecast["statements"] as? [[String: Any]] ?? []).compactMap { $0["sql"] as? String }
            #expect(sql.contains { $0.hasPrefix("ALTER TABLE \"shop_order\" ADD COLUMN \"note\"") }, "\(sql)")
            #expect(sql.contains { $0.hasPrefix("CREATE INDEX \"shop_order_total_idx\"") }, "\(sql)")
            #expect((forecast["not_forecast"] as? [String])?.isEmpty == true)  // 0004 is past the target
        }
    }

    @Test("the whole command after --django: the text names the RunPython step as not forecast")
    func wholeCommand() async throws {
        try await ScratchDatabase.with { database in
            try await DjangoFixture.prepare(database)
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--django", "--"] + DjangoFixture.migrate
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            #expect(
                output.standardOutput.contains(
                    "warning: migration shop.0004_fill_note runs Python code (Raw Python operation), which is not forecast"
                ),
                "\(output.standardOutput)"
            )
            #expect(output.standardOutput.contains("AccessExclusiveLock on public.shop_order"))
            #expect(
                output.standardOutput.hasPrefix(
                    "forecast of django: \(DjangoFixture.migrate.joined(separator: " ")): shop.0002_order_note (statements 1–3),"
                        + " shop.0003_order_total_index (statement 4), shop.0004_fill_note (statements 5–6): 6 statement(s)\n"
                ),
                "\(output.standardOutput)"
            )
        }
    }

    @Test("a target before what is applied: the plan unapplies, with sqlmigrate --backwards")
    func backwards() async throws {
        try await ScratchDatabase.with { database in
            try await DjangoFixture.prepare(database)
            let all = try await TestCrontab.runOffPool(
                "/usr/bin/env",
                ["PGDATABASE=\(database.name)"] + DjangoFixture.migrate
            )
            #expect(all.status == 0, "\(all.error)")
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--no-rehearsal", "--django"]
                    + DjangoFixture.migrate + ["shop", "0002"]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            #expect(
                output.standardOutput.contains(
                    "migrate shop 0002: shop.0004_fill_note (unapplied, statements 1–2),"
                        + " shop.0003_order_total_index (unapplied, statement 3): 3 statement(s)\n"
                ),
                "\(output.standardOutput)"
            )
            #expect(output.standardOutput.contains("3. DROP INDEX IF EXISTS \"shop_order_total_idx\""))
            #expect(output.standardOutput.contains("AccessExclusiveLock on public.shop_order,"))
        }
    }

    @Test("upgrade --dry-run: the Django forecast before the plan, django_migrations in it, nothing changed")
    func upgradeDryRun() async throws {
        try await ScratchDatabase.with { database in
            try await DjangoFixture.prepare(database)
            let output = try await UpgradeForecastTests().upgrade(database, ["--dry-run"], DjangoFixture.migrate)
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let lines = output.standardOutput.split(separator: "\n").map(String.init)
            let alter = try #require(
                lines.firstIndex {
                    $0.hasSuffix("forecast: 2. ALTER TABLE \"shop_order\" ADD COLUMN \"note\" text NULL  (line 6)")
                },
                "\(output.standardOutput)"
            )
            let plan = try #require(lines.firstIndex { $0.hasSuffix("dry run: nothing will be changed. The plan:") })
            #expect(alter < plan)
            #expect(
                lines.contains { $0.hasSuffix("  django_migrations: shop 0001_initial") },
                "\(output.standardOutput)"
            )
            let session = try await database.session()
            let recorded = try await session.query("SELECT count(*)::int8 AS n FROM django_migrations")
            #expect(try recorded.rows.first?.require(Int.self, "n") == 1)
            await session.close()
        }
    }

    @Test(
        "bad input: no manage.py, an app Django does not know: one error line, nothing else",
        arguments: [
            (["/nonexistent/manage.py", "migrate"], "error: /nonexistent/manage.py does not exist"),
            (["migrate", "nope"], "No installed app with label 'nope'."),
        ]
    )
    func badInput(words: [String], expected: String) async throws {
        try await ScratchDatabase.with { database in
            try await DjangoFixture.prepare(database)
            let command =
                words.first == "migrate"
                ? [DjangoFixture.python, DjangoFixture.managePy] + words : [DjangoFixture.python] + words
            let output = try await PGWardenCommand.run(
                ["forecast", "--dsn", database.connectionString, "--django"] + command
            )
            #expect(output.status != 0)
            let lines = output.standardError.split(separator: "\n")
            #expect(lines.filter { $0.hasPrefix("error: ") }.count == 1, "\(output.standardError)")
            #expect(lines.allSatisfy { $0.hasPrefix("error: ") || $0.hasPrefix("hint: ") }, "\(output.standardError)")
            #expect(lines.first?.contains(expected) == true, "\(output.standardError)")
            #expect(output.standardOutput.isEmpty)
        }
    }
}
