import Foundation
import Postgres
import TestSupport
import Testing

/// The forecast in seconds: a calibration measured on this server, kept for a day, and the blocks it estimates.
@Suite("pgwarden forecast in seconds", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct ForecastSecondsTests {
    /// A table of ~30 MB with a primary key, vacuumed so that the catalog knows its size.
    static func fill(_ database: ScratchDatabase, rows: Int = 250_000) async throws {
        let session = try await database.session()
        _ = try await session.query("CREATE TABLE release (id bigint PRIMARY KEY, n int, pad text)")
        _ = try await session.query(
            "INSERT INTO release SELECT g, g, md5(g::text) || md5(g::text) FROM generate_series(1, \(rows)) AS g"
        )
        _ = try await session.query("VACUUM ANALYZE release")
        await session.close()
    }

    static func forecast(_ database: ScratchDatabase, _ sql: String, _ extra: [String]) async throws -> (
        json: [String: Any], status: Int32, errors: String
    ) {
        let path = NSTemporaryDirectory() + "pgwarden-seconds-" + UUID().uuidString + ".sql"
        try sql.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try await PGWardenCommand.run(
            ["forecast", "--dsn", database.connectionString, "--sql", path, "--json", "--sample", "200ms"] + extra
        )
        let object = try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
        return (object ?? [:], output.status, output.standardError)
    }

    @Test("seconds per statement and per block, from a calibration measured here, kept, and measured again on demand")
    func calibratedSeconds() async throws {
        try await ScratchDatabase.with { database in
            try await Self.fill(database)
            let state = NSTemporaryDirectory() + "pgwarden-calibration-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: state) }
            let sql =
                "BEGIN;\nALTER TABLE release ALTER COLUMN n TYPE bigint;\nCOMMENT ON TABLE release IS 'x';\nCOMMIT;\n"
            let first = try await Self.forecast(database, sql, ["--state-dir", state])
            #expect(first.status == 0, Comment(rawValue: first.errors))
            let calibration = try #require(first.json["calibration"] as? [String: Any])
            #expect((calibration["rewrite_bytes_per_second"] as? Int ?? 0) > 0)
            #expect((calibration["took_seconds"] as? Double ?? 0) > 0)
            #expect((calibration["note"] as? String)?.hasPrefix("calibrated on a ") == true)
            let statements = try #require(first.json["statements"] as? [[String: Any]])
            #expect(statements[0]["estimated_seconds"] is NSNull)
            let rewrite = try #require(statements[1]["estimated_seconds"] as? [String: Double])
            let low = try #require(rewrite["low"])
            let expected = try #require(rewrite["expected"])
            let high = try #require(rewrite["high"])
            #expect(low > 0 && low < expected && expected < high)
            #expect(statements[2]["estimated_seconds"] is NSNull)
            let blocks = try #require(first.json["blocks"] as? [[String: Any]])
            #expect(blocks.count == 1)
            #expect(blocks.first?["relation"] as? String == "public.release")
            #expect(blocks.first?["blocks"] as? String == "reads and writes")
            #expect(blocks.first?["from_statement"] as? Int == 2)
            #expect(blocks.first?["until_statement"] as? Int == 4)
            let span = try #require(blocks.first?["estimated_seconds"] as? [String: Double])
            #expect(abs((span["expected"] ?? 0) - expected) < 0.01)
            // The calibration's scratch database is gone; the measure is kept in the state directory.
            let admin = try await TestCluster.administrator()
            // (Other tests calibrate at the same time: a scratch database of a live run keeps its session open.)
            let left = try await admin.query(
                """
                SELECT count(*) AS n FROM pg_database AS d WHERE d.datname LIKE 'pgwarden\\_calibration\\_%'
                AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a
                                WHERE a.application_name = 'pgwarden-calibration-' || substr(d.datname, 22))
                """
            )
            #expect(try left.rows.first?.require(Int.self, "n") == 0)
            await admin.close()
            let kept = try FileManager.default.contentsOfDirectory(atPath: state).filter {
                $0.hasPrefix("calibration-")
            }
            #expect(kept.count == 1)

            let second = try await Self.forecast(database, sql, ["--state-dir", state])
            let again = try #require(second.json["calibration"] as? [String: Any])
            #expect((again["note"] as? String)?.hasPrefix("kept from ") == true)
            #expect(again["measured_at"] as? String == calibration["measured_at"] as? String)

            let third = try await Self.forecast(database, sql, ["--state-dir", state, "--recalibrate"])
            let remeasured = try #require(third.json["calibration"] as? [String: Any])
            #expect((remeasured["note"] as? String)?.hasPrefix("calibrated on a ") == true)
            #expect(remeasured["measured_at"] as? String != calibration["measured_at"] as? String)
        }
    }

    @Test("the text leads with the blocks: relation, span to COMMIT, seconds and what takes them")
    func textSummary() async throws {
        try await ScratchDatabase.with { database in
            try await Self.fill(database, rows: 50_000)
            let path = NSTemporaryDirectory() + "pgwarden-seconds-" + UUID().uuidString + ".sql"
            try "BEGIN;\nALTER TABLE release ALTER COLUMN n TYPE bigint;\nCREATE INDEX ON release (n);\nCOMMIT;\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            let state = NSTemporaryDirectory() + "pgwarden-calibration-" + UUID().uuidString
            defer {
                try? FileManager.default.removeItem(atPath: path)
                try? FileManager.default.removeItem(atPath: state)
            }
            let output = try await PGWardenCommand.run(
                [
                    "forecast", "--dsn", database.connectionString, "--sql", path, "--sample", "200ms", "--state-dir",
                    state,
                ]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let lines = output.standardOutput.split(separator: "\n").map(String.init)
            let block = try #require(lines.first { $0.hasPrefix("public.release: ") })
            #expect(block.contains("reads and writes blocked from statement 2 to COMMIT (statement 4), ~"))
            #expect(block.contains("rewrite "))
            #expect(block.contains("1 index rebuilt ~"))
            #expect(block.contains("index build on "))
            let first = try #require(lines.firstIndex { $0.hasPrefix("1. BEGIN") })
            let summary = try #require(lines.firstIndex(of: block))
            #expect(summary < first)
            #expect(lines.contains { $0.hasPrefix("   takes ~") })
        }
    }
}
