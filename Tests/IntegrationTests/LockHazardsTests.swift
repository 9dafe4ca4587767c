import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden locks` when nobody waits: the hazards that would make a migration wait, with real sessions.
@Suite(
    "pgwarden locks: hazards before anything waits",
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason)
)
struct LockHazardsTests {
    @Test("a session idle in transaction holding a table's lock and the oldest transaction, one line each, and in JSON")
    func namesHazards() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("t")
            let reader = try await database.idleInTransactionReader(of: "t", "monthly-report")
            let readerPID = await reader.backendPID
            let open = try await database.session("long-job")
            _ = try await open.query("BEGIN")
            _ = try await open.query("SELECT txid_current()")
            let openPID = await open.backendPID

            let text = try await PGWardenCommand.run(["locks", "--dsn", database.connectionString])
            #expect(text.status == 0, Comment(rawValue: text.standardError))
            let lines = text.standardOutput.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("No session is waiting on a lock in ") == true, "\(lines)")
            let hazard = try #require(lines.first { $0.hasPrefix("hazard: pid \(readerPID) ") }, "\(lines)")
            #expect(hazard.contains("application 'monthly-report'") && hazard.contains("is idle in transaction for "))
            #expect(hazard.contains("holding AccessShareLock on public.t:"), "\(hazard)")
            #expect(hazard.contains("pgwarden cancel --terminate \(readerPID)"))
            #expect(lines.contains { $0.hasPrefix("oldest transaction: pid \(openPID) (") }, "\(lines)")
            #expect(!lines.contains { $0.hasPrefix("oldest transaction: pid \(readerPID) ") }, "named once")

            let json = try await PGWardenCommand.run(["locks", "--json", "--dsn", database.connectionString])
            let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
            let hazards = try #require(object?["hazards"] as? [String: Any])
            let idle = try #require(hazards["idle_in_transaction"] as? [[String: Any]])
            #expect(idle.map { $0["pid"] as? Int } == [Int(readerPID)])
            #expect(idle.first?["relations"] as? [String] == ["public.t"])
            let oldest = try #require(hazards["oldest_transactions"] as? [[String: Any]])
            #expect(oldest.contains { $0["pid"] as? Int == Int(openPID) })
            await reader.close()
            await open.close()
        }
    }

    @Test("nothing idle in transaction and no transaction open: the one line alone")
    func nothingToSay() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("t")
            let text = try await PGWardenCommand.run(["locks", "--dsn", database.connectionString])
            #expect(text.status == 0)
            #expect(!text.standardOutput.contains("hazard:"), Comment(rawValue: text.standardOutput))
        }
    }

    @Test("--watch names the hazard: piped, beside each 'no lock waits' line; on a terminal, below the one line")
    func watchNamesHazards() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable("t")
            let reader = try await database.idleInTransactionReader(of: "t", "monthly-report")
            let readerPID = await reader.backendPID
            let piped = try RunningCommand(
                ["locks", "--watch", "--interval", "200ms", "--dsn", database.connectionString]
            )
            defer { piped.kill() }
            try await piped.waitForStandardOutput("no lock waits", timeout: .seconds(30))
            try await piped.waitForStandardOutput("hazard: pid \(readerPID) ", timeout: .seconds(30))
            piped.kill()

            let pane = try await TmuxPane.start(columns: 200, rows: 24)
            defer { pane.close() }
            try pane.run(
                "\(PGWardenCommand.executable.path) locks --watch --interval 200ms --dsn \(database.connectionString)"
            )
            _ = try await pane.waitForScreen("the view names the hazard") { screen in
                screen.contains { $0.contains("hazard: pid \(readerPID) ") }
            }
            try pane.type("q")
            await reader.close()
        }
    }
}
