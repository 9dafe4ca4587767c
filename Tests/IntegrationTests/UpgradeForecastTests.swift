import Foundation
import TestSupport
import Testing

/// `pgwarden upgrade` forecasts the migration in preflight, before anything changes, and reports it.
@Suite("pgwarden upgrade: the preflight forecast", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct UpgradeForecastTests {
    static let packageRoot = ForecastCommandTests.packageRoot
    static let alembic = [
        packageRoot + "/.venv/bin/alembic", "-c", packageRoot + "/Tests/Fixtures/alembic/alembic.ini",
    ]

    func prepared(_ database: ScratchDatabase) async throws {
        let result = try await TestCrontab.runOffPool(
            "/usr/bin/env",
            ["PGDATABASE=\(database.name)"] + Self.alembic + ["upgrade", "0001"]
        )
        #expect(result.status == 0)
    }

    func upgrade(_ database: ScratchDatabase, _ extra: [String], _ command: [String]) async throws
        -> PGWardenCommand.Output
    {
        let state = NSTemporaryDirectory() + "pgwarden-forecast-state-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: state) }
        return try await PGWardenCommand.run(
            ["upgrade", "--dsn", database.connectionString, "--state-dir", state, "--no-interactive"] + extra + ["--"]
                + command,
            environment: [:]  // the migration and Alembic's offline run get the database from --dsn
        )
    }

    @Test("--dry-run prints the Alembic migration's forecast before the plan, and changes nothing")
    func dryRun() async throws {
        try await ScratchDatabase.with { database in
            try await prepared(database)
            let output = try await upgrade(database, ["--dry-run"], Self.alembic + ["upgrade", "head"])
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let lines = output.standardOutput.split(separator: "\n").map(String.init)
            let alter = try #require(
                lines.firstIndex { $0.hasSuffix("forecast: 2. ALTER TABLE orders ADD COLUMN note text  (line 5)") }
            )
            let plan = try #require(lines.firstIndex { $0.hasSuffix("dry run: nothing will be changed. The plan:") })
            #expect(alter < plan)
            #expect(lines[alter + 1].hasSuffix("forecast:    verdict: blocks reads and writes; metadata only"))
            #expect(
                lines[alter + 2].contains("AccessExclusiveLock on public.orders")
                    && lines[alter + 2].contains("until COMMIT at statement 4")
            )
            let session = try await database.session()
            let version = try await session.query("SELECT version_num FROM alembic_version")
            #expect(try version.rows.first?.require(String.self, "version_num") == "0001")
            await session.close()
        }
    }

    @Test(
        "--dry-run beside an idle reader: the forecast names whom it would wait on, and the plan never says 'none' of it"
    )
    func dryRunOneAnswer() async throws {
        try await ScratchDatabase.with { database in
            try await prepared(database)
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let pid = await reader.backendPID
            let output = try await upgrade(database, ["--dry-run"], Self.alembic + ["upgrade", "head"])
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            #expect(output.standardOutput.contains("will wait on pid \(pid) now"), "\(output.standardOutput)")
            #expect(!output.standardOutput.contains("blockers right now: none"), "\(output.standardOutput)")
            #expect(
                output.standardOutput.contains(
                    "sessions blocking others right now: none (who the migration would wait on: the forecast above)"
                ),
                "\(output.standardOutput)"
            )
        }
    }

    @Test("a run puts the forecast in its report; --forecast-sql forecasts any command's SQL")
    func reportAndForecastSQL() async throws {
        try await ScratchDatabase.with { database in
            try await prepared(database)
            let report = NSTemporaryDirectory() + "pgwarden-forecast-report-" + UUID().uuidString + ".json"
            defer { try? FileManager.default.removeItem(atPath: report) }
            let output = try await upgrade(database, ["--report", report], Self.alembic + ["upgrade", "head"])
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
            )
            let forecast = try #require(json["forecast"] as? [String: Any])
            #expect(forecast["source"] as? String == "alembic upgrade 0001:head --sql")
            let statements = try #require(forecast["statements"] as? [[String: Any]])
            let lock = try #require((statements[1]["locks"] as? [[String: Any]])?.first)
            #expect(lock["relation"] as? String == "public.orders" && lock["mode"] as? String == "AccessExclusiveLock")
            // The report says how the forecast knew it: rehearsed on a schema-only copy.
            #expect(
                (forecast["rehearsal"] as? [String: Any])?["ran"] as? Bool == true,
                "\(forecast["rehearsal"] ?? "")"
            )
            #expect(lock["source"] as? String == "rehearsal" && lock["certain"] as? Bool == true)

            let sql = NSTemporaryDirectory() + "pgwarden-forecast-" + UUID().uuidString + ".sql"
            try "CREATE INDEX ON orders (total);".write(toFile: sql, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: sql) }
            let other = try await upgrade(database, ["--dry-run", "--forecast-sql", sql], ["/bin/true"])
            #expect(other.status == 0, Comment(rawValue: other.standardError))
            #expect(other.standardOutput.contains("forecast:    verdict: blocks writes; scans"))
            #expect(other.standardOutput.contains("ShareLock on public.orders"))
        }
    }
}
