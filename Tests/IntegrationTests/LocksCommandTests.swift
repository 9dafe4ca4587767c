import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden locks`, run as an operator runs it.
@Suite("pgwarden locks", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct LocksCommandTests {
    @Test("--json against a chain gives exactly the waits and blockers PostgreSQL reports")
    func jsonMatchesServer() async throws {
        try await ScratchDatabase.with { database in
            let (reader, readerPID, observer, alter) = try await database.alterBehindIdleReader("alembic")
            let select = try await database.startBlockedStatement("SELECT count(*) FROM t", "web")
            try await database.waitUntilWaiting(select.pid, observer: observer)

            let result = try await PGWardenCommand.run(["locks", "--json", "--dsn", database.connectionString])

            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardError.isEmpty)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            )
            #expect(Set(object.keys) == ["taken_at", "server_version", "waits", "blockers"])
            #expect(object["server_version"] as? String == (try await TestCluster.serverVersion()))
            let waits = try #require(object["waits"] as? [[String: Any]])
            let blockers = try #require(object["blockers"] as? [[String: Any]])
            let waitKeys: Set = [
                "pid", "blocked_by", "waiting_seconds", "wait_event_type", "wait_event", "lock", "state",
                "xact_seconds", "usename", "datname", "application_name", "backend_type", "query",
            ]
            let blockerKeys: Set = [
                "pid", "blocks", "blocked_total", "root", "state", "xact_seconds", "state_seconds", "usename",
                "datname", "application_name", "backend_type", "query", "progress",
            ]
            #expect(waits.allSatisfy { Set($0.keys) == waitKeys })
            #expect(blockers.allSatisfy { Set($0.keys) == blockerKeys })
            #expect(Set(waits.compactMap { $0["pid"] as? Int }) == [Int(alter.pid), Int(select.pid)])
            for wait in waits {
                let pid = Int32(try #require(wait["pid"] as? Int))
                let reported = (wait["blocked_by"] as? [Int] ?? []).map { Int32($0) }
                #expect(reported == (try await database.blockingPIDs(of: pid, observer: observer)))
                // "LWLock" while a deadlock check holds the lock manager's partitions (after deadlock_timeout).
                #expect(["Lock", "LWLock"].contains(wait["wait_event_type"] as? String ?? ""))
                #expect(wait["datname"] as? String == database.name)
            }
            let alterWait = try #require(waits.first { $0["pid"] as? Int == Int(alter.pid) })
            let lock = try #require(alterWait["lock"] as? [String: Any])
            #expect(lock["mode"] as? String == "AccessExclusiveLock")
            #expect(lock["relation"] as? String == "public.t")
            #expect(alterWait["application_name"] as? String == "alembic")
            let root = try #require(blockers.first { $0["root"] as? Bool == true })
            #expect(root["pid"] as? Int == Int(readerPID))
            #expect(root["blocked_total"] as? Int == 2)
            #expect(root["state"] as? String == "idle in transaction")

            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
            try await select.task.value
        }
    }

    @Test("the tree view nests the chain; nothing waiting is one line")
    func treeView() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let empty = try await PGWardenCommand.run(["locks", "--dsn", database.connectionString])
            #expect(empty.status == 0)
            // A second line names other databases' waits, when parallel tests have some.
            #expect(empty.standardOutput.hasPrefix("No session is waiting on a lock in \(database.name).\n"))

            let reader = try await database.idleInTransactionReader()
            let readerPID = await reader.backendPID
            let observer = try await database.session("observer")
            let alter = try await database.startBlockedStatement("ALTER TABLE t ADD COLUMN c int", "alembic")
            try await database.waitUntilWaiting(alter.pid, observer: observer)

            let result = try await PGWardenCommand.run(
                ["locks", "--dsn", database.connectionString],
                environment: ["COLUMNS": "200"]
            )

            let lines = result.standardOutput.split(separator: "\n").map(String.init)
            #expect(lines.first == "1 session waits on locks in \(database.name); 1 root blocker.")
            #expect(
                lines.contains {
                    $0.hasPrefix("pid \(readerPID) · idle in transaction")
                        && $0.hasSuffix("· blocks 1 · postgres@\(database.name) · reader")
                }
            )
            #expect(
                lines.contains {
                    $0.hasPrefix("└─ pid \(alter.pid) · waits ")
                        && $0.contains("for AccessExclusiveLock on relation public.t")
                }
            )
            #expect(lines.contains { $0.trimmingCharacters(in: .whitespaces) == "ALTER TABLE t ADD COLUMN c int" })
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }

    @Test("--watch without a terminal prints one line per snapshot")
    func watch() async throws {
        try await ScratchDatabase.with { database in
            let process = Process()
            process.executableURL = PGWardenCommand.executable
            process.arguments = ["locks", "--watch", "--interval", "100ms", "--dsn", database.connectionString]
            let output = Pipe()
            process.standardOutput = output
            process.standardInput = FileHandle.nullDevice
            try process.run()
            var received = Data()
            while received.split(separator: UInt8(ascii: "\n")).count < 3 {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                received += chunk
            }
            process.terminate()  // by its own pid
            process.waitUntilExit()
            let lines = String(decoding: received, as: UTF8.self).split(separator: "\n")
            #expect(lines.count >= 3)
            // Parallel tests' waits in their own databases may follow, after "; ".
            #expect(lines.prefix(3).allSatisfy { $0.hasSuffix("Z no lock waits") || $0.contains("Z no lock waits; ") })
        }
    }

    @Test("--watch without a terminal ends on SIGHUP with 129, as the full-screen view does, and nothing on stderr")
    func watchHangUp() async throws {
        try await ScratchDatabase.with { database in
            let watch = try RunningCommand([
                "locks", "--watch", "--interval", "100ms", "--dsn", database.connectionString,
            ])
            try await watch.waitForStandardOutput("no lock waits")
            watch.send(SIGHUP)
            #expect(try await watch.waitForExit() == 128 + SIGHUP)
            #expect(watch.standardError.isEmpty)
        }
    }

    @Test(
        "--watch | head -1 ends at its first write after head closed the pipe, with 0 and nothing on stderr",
        arguments: [false, true]
    )
    func watchEndsWhenPipeCloses(json: Bool) async throws {
        try await ScratchDatabase.with { database in
            let errors = NSTemporaryDirectory() + "pgwarden-watch-stderr-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: errors) }
            // A real pipeline, made by bash (a pipe made here could leak into a parallel test's child, which would
            // keep it open). timeout's 124 would say it still polled after 60 s, as it did until killed before.
            let script = #"""
                timeout 60 "$1" locks --watch --interval 100ms --dsn "$2" $3 2>"$4" | head -1
                echo "status=${PIPESTATUS[0]}"
                """#
            let result = try await TestCrontab.runOffPool(
                "/bin/bash",
                [
                    "-c", script, "bash", PGWardenCommand.executable.path, database.connectionString,
                    json ? "--json" : "", errors,
                ]
            )
            let lines = result.output.split(separator: "\n")
            #expect(lines.count == 2, "\(result.output)")
            #expect(lines.first?.contains(json ? "\"waits\"" : "no lock waits") == true, "\(result.output)")
            #expect(lines.last == "status=0")
            #expect(try String(contentsOfFile: errors, encoding: .utf8).isEmpty)
        }
    }

    @Test("--json --watch prints one compact JSON object per line")
    func watchJSON() async throws {
        try await ScratchDatabase.with { database in
            let process = Process()
            process.executableURL = PGWardenCommand.executable
            process.arguments = [
                "locks", "--json", "--watch", "--interval", "100ms", "--dsn", database.connectionString,
            ]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            var received = Data()
            while received.split(separator: UInt8(ascii: "\n")).count < 2 {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                received += chunk
            }
            process.terminate()
            process.waitUntilExit()
            for line in received.split(separator: UInt8(ascii: "\n")).prefix(2) {
                let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
                #expect((object?["waits"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test("a role without pg_monitor is told what it cannot see, and still gets an answer")
    func withoutMonitor() async throws {
        try await ScratchDatabase.with { database in
            let role = TestCluster.uniqueName("pgw_plain")
            let admin = try await TestCluster.administrator()
            _ = try await admin.query("CREATE ROLE \(role) LOGIN")
            defer { Task { _ = try? await admin.query("DROP ROLE IF EXISTS \(role)") } }
            let (reader, _, _, alter) = try await database.alterBehindIdleReader()

            let result = try await PGWardenCommand.run(
                ["locks", "--json", "--dsn", database.connectionString + " user=\(role)"]
            )

            #expect(result.status == 0)
            #expect(result.standardError.hasPrefix("warning: role \(role) is not a member of pg_monitor"))
            let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            let waits = object?["waits"] as? [[String: Any]] ?? []
            #expect(waits.first?["pid"] as? Int == Int(alter.pid))
            #expect(waits.first?["query"] as? String == "<insufficient privilege>")
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }
}
