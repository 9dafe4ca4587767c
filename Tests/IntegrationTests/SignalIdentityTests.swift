import Foundation
import Postgres
import TestSupport
import Testing

/// Signal exactly the session that was judged: against real sessions that change under pgwarden.
@Suite("Signal identity", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct SignalIdentityTests {
    static func file(_ text: String, _ suffix: String = ".toml") throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-identity-" + UUID().uuidString + suffix
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func auditLines(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// One session that holds a read lock in a transaction, commits on demand and starts an innocent new one.
    struct Holder: Sendable {
        let session: Connection
        let pid: Int32

        /// COMMIT, then a new transaction that touches nothing the waiter wants. True when the COMMIT succeeded.
        func commitAndStartAgain() async -> Bool {
            do {
                _ = try await session.query("COMMIT")
            } catch {
                return false
            }
            _ = try? await session.query("BEGIN")
            _ = try? await session.query("SELECT 1")
            return true
        }

        /// Whether the session still lives (it was not terminated).
        func alive() async -> Bool {
            (try? await session.query("SELECT 1")) != nil
        }
    }

    @Test("the commit storm: blockers that commit while the guard acts are never signalled after their commit")
    func commitStorm() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            var holders: [Holder] = []
            for _ in 0..<60 {
                let session = try await database.idleInTransactionReader(of: "t", "report")
                holders.append(Holder(session: session, pid: await session.backendPID))
            }
            let observer = try await database.session("observer")
            let waiter = try await database.startBlockedStatement("ALTER TABLE t ADD COLUMN c int", "migration")
            try await database.waitUntilWaiting(waiter.pid, observer: observer)
            let audit = NSTemporaryDirectory() + "pgwarden-storm-" + UUID().uuidString
            let policy = try Self.file(
                """
                interval = "100ms"
                max_actions_per_minute = 1000
                [[rule]]
                name = "idle transactions that block"
                state = ["idle in transaction"]
                action = "terminate"
                """
            )
            let daemon = try RunningCommand([
                "guard", "--policy", policy, "--audit-log", audit, "--dsn", database.connectionString,
            ])
            // The moment the guard has acted once, every blocker commits and starts afresh.
            try await eventually("the guard acts", timeout: .seconds(20)) { !Self.auditLines(audit).isEmpty }
            let committed = await withTaskGroup(of: (Int32, Bool).self) { group in
                for holder in holders { group.addTask { (holder.pid, await holder.commitAndStartAgain()) } }
                var result: [Int32: Bool] = [:]
                for await (pid, ok) in group { result[pid] = ok }
                return result
            }
            try await waiter.task.value
            daemon.send(SIGTERM)
            _ = try await daemon.waitForExit()
            var wronglySignalled: [Int32] = []
            for holder in holders where committed[holder.pid] == true {
                if !(await holder.alive()) { wronglySignalled.append(holder.pid) }
            }
            let outcomes = Self.auditLines(audit).compactMap { $0["outcome"] as? String }
            #expect(wronglySignalled.isEmpty, "terminated after their COMMIT: \(wronglySignalled); audit: \(outcomes)")
            #expect(outcomes.contains("signalled"))
            #expect(Set(outcomes).isSubset(of: ["signalled", "changed", "gone"]), "\(outcomes)")
            print(
                "commit storm: \(committed.values.filter { $0 }.count) of 60 committed; audit \(Dictionary(grouping: outcomes, by: { $0 }).mapValues(\.count))"
            )
        }
    }

    @Test("a session naming itself pgwarden-migration-<an old run> is judged like any other")
    func noImmunityByName() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let impostor = try await database.idleInTransactionReader(
                of: "t",
                "pgwarden-migration-20261101T000000Z-dead"
            )
            let impostorPID = await impostor.backendPID
            let observer = try await database.session("observer")
            let waiter = try await database.startBlockedStatement("ALTER TABLE t ADD COLUMN c int", "migration")
            try await database.waitUntilWaiting(waiter.pid, observer: observer)
            let audit = NSTemporaryDirectory() + "pgwarden-impostor-" + UUID().uuidString
            let policy = try Self.file(
                """
                [[rule]]
                name = "idle"
                state = ["idle in transaction"]
                action = "terminate"
                """
            )
            let result = try await PGWardenCommand.run([
                "guard", "--policy", policy, "--once", "--audit-log", audit, "--dsn", database.connectionString,
            ])
            #expect(result.status == 0, "\(result.standardError)")
            try await waiter.task.value
            let line = try #require(Self.auditLines(audit).first)
            #expect(line["outcome"] as? String == "signalled")
            #expect((line["blocker"] as? [String: Any])?["pid"] as? Int == Int(impostorPID))
        }
    }
}
