import Foundation
import Postgres
import TestSupport
import Testing

/// The policy's `[preflight]`, against the Alembic fixture and real idle transactions.
extension UpgradeForecastTests {
    /// A policy file with `text`, removed when the test process ends its use of it.
    static func policy(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-preflight-policy-" + UUID().uuidString + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Waits until `pid`'s transaction is older than `milliseconds`, as the server's clock says.
    static func waitUntilTransactionOlder(than milliseconds: Int, _ pid: Int32, observer: Connection) async throws {
        try await eventually("pid \(pid)'s transaction is older than \(milliseconds) ms") {
            let rows = try await observer.query(
                "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND clock_timestamp() - xact_start > $2::interval",
                [pid, "\(milliseconds) milliseconds"]
            )
            return !rows.rows.isEmpty
        }
    }

    @Test(
        "[preflight] terminate_idle_in_transaction: the idle reader the forecast found is terminated before the migration starts, so the ALTER never waits; an idle transaction on another table is left alone"
    )
    func preflightTerminates() async throws {
        try await ScratchDatabase.with { database in
            try await prepared(database)
            try await database.createTable("elsewhere")
            let reader = try await database.session("monthly-report")
            _ = try await reader.query("BEGIN")
            _ = try await reader.query("SELECT count(*) FROM orders")
            let bystander = try await database.idleInTransactionReader(of: "elsewhere", "bystander")
            let observer = try await database.session("observer")
            let readerPID = await reader.backendPID
            try await Self.waitUntilTransactionOlder(than: 300, readerPID, observer: observer)

            let audit = NSTemporaryDirectory() + "pgwarden-preflight-audit-" + UUID().uuidString
            let report = NSTemporaryDirectory() + "pgwarden-preflight-report-" + UUID().uuidString + ".json"
            defer { for path in [audit, report] { try? FileManager.default.removeItem(atPath: path) } }
            let policy = try Self.policy("[preflight]\nterminate_idle_in_transaction = \"200ms\"")
            // --max-lock-wait: were the reader not terminated, the run would end (75) instead of waiting for ever.
            let output = try await upgrade(
                database,
                ["--policy", policy, "--audit-log", audit, "--report", report, "--max-lock-wait", "20s"],
                Self.alembic + ["upgrade", "head"]
            )
            #expect(output.status == 0, Comment(rawValue: output.standardError))
            let said = output.standardOutput
            #expect(
                said.contains(
                    "[preflight] statement 2 would wait on pid \(readerPID) (idle in transaction"
                )
                    && said.contains(
                        "application 'monthly-report'), which holds AccessShareLock on public.orders: to be terminated just before the migration starts"
                    ),
                Comment(rawValue: said)
            )
            #expect(
                said.contains("[preflight] terminated pid \(readerPID): its transaction rolled back"),
                Comment(rawValue: said)
            )

            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
            )
            #expect(
                (json["lock_waits"] as? [Any])?.isEmpty == true,
                "the ALTER never waited: \(json["lock_waits"] ?? "")"
            )
            let actions = try #require(json["preflight_actions"] as? [[String: Any]])
            #expect(actions.count == 1)
            #expect(actions.first?["by"] as? String == "preflight:terminate_idle_in_transaction")
            #expect(actions.first?["outcome"] as? String == "signalled")
            #expect(actions.first?["server_version"] as? String == json["server_version"] as? String)
            #expect((actions.first?["blocker"] as? [String: Any])?["pid"] as? Int == Int(readerPID))
            let audited = try String(contentsOfFile: audit, encoding: .utf8).split(separator: "\n")
            #expect(audited.count == 1 && audited[0].contains("\"by\":\"preflight:terminate_idle_in_transaction\""))

            await #expect(throws: PostgresError.self) { _ = try await reader.query("SELECT 1") }
            _ = try await bystander.query("SELECT count(*) FROM elsewhere")  // untouched, still in its transaction
            let version = try await observer.query("SELECT version_num FROM alembic_version")
            #expect(try version.rows.first?.require(String.self, "version_num") == "0002")
        }
    }

    @Test(
        "[preflight] refuse_if_waits_on_protected: a protected holder refuses the run with one error line; nothing runs, nothing is signalled"
    )
    func preflightRefuses() async throws {
        try await ScratchDatabase.with { database in
            try await prepared(database)
            let dump = try await database.idleInTransactionReader(of: "orders", "pg_dump")
            let dumpPID = await dump.backendPID
            let policy = try Self.policy(
                """
                [protect]
                application_names = ["pg_dump*"]
                [preflight]
                terminate_idle_in_transaction = "0s"
                refuse_if_waits_on_protected = true
                """
            )
            let output = try await upgrade(database, ["--policy", policy], Self.alembic + ["upgrade", "head"])
            #expect(output.status != 0)
            let errors = output.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(
                errors == [
                    "error: [preflight] refuses the run: statement 2 would wait on pid \(dumpPID) (idle in transaction, application 'pg_dump', role postgres), which pgwarden may not end: [protect] application_names: pg_dump*"
                ],
                Comment(rawValue: output.standardError)
            )
            _ = try await dump.query("SELECT 1")  // still there, still in its transaction
            let session = try await database.session()
            let version = try await session.query("SELECT version_num FROM alembic_version")
            #expect(try version.rows.first?.require(String.self, "version_num") == "0001")
            await session.close()
        }
    }

    @Test("[preflight] limits that need a forecast, and no forecast can be made: refused, one error line, nothing run")
    func preflightLimitsWithoutForecast() async throws {
        try await ScratchDatabase.with { database in
            let marker = NSTemporaryDirectory() + "pgwarden-preflight-ran-" + UUID().uuidString
            let policy = try Self.policy("[preflight]\nmax_rewrite_mb = 100\nrefuse_if_waits_on_protected = true")
            let output = try await upgrade(database, ["--policy", policy], ["/usr/bin/touch", marker])
            #expect(output.status != 0)
            #expect(
                output.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") } == [
                    "error: [preflight] refuse_if_waits_on_protected and max_rewrite_mb cannot be checked: no forecast was made"
                ],
                Comment(rawValue: output.standardError)
            )
            #expect(!FileManager.default.fileExists(atPath: marker), "the command did not run")
        }
    }
}
