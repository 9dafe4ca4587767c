import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden upgrade` protects the migration's sessions by identity, and labels only its waits
/// (in the serialized upgrade suite: the runs share one crontab user).
extension UpgradeTests {
    static func catchAllPolicy() throws -> String {
        let path = NSTemporaryDirectory() + "pgwarden-catch-all-" + UUID().uuidString + ".toml"
        try """
        interval = "100ms"
        [[rule]]
        name = "every blocker"
        blocking_for = "1s"
        action = "terminate"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(
        "a migration that sets its own application_name, under a catch-all policy, with a reader queued behind it: not signalled"
    )
    func ownApplicationName() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let readerPID = await reader.backendPID
            let psql = (ProcessInfo.processInfo.environment["PGWARDEN_PG_BIN"] ?? "/usr/bin") + "/psql"
            let run = try RunningCommand(
                fixture.arguments(["--policy", try Self.catchAllPolicy()]) + [
                    "--", psql, "-X", "-v", "ON_ERROR_STOP=1", "-d",
                    "dbname=\(database.name) application_name=myapp-migrate",
                    "-c", "ALTER TABLE orders ADD COLUMN note2 text",
                ]
            )
            try await run.waitForStandardOutput("the migration's session: pid")
            let queued = try await database.startBlockedStatement("SELECT count(*) FROM orders", "web")
            let status = try await run.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            try await queued.task.value
            #expect(
                run.standardOutput.contains("socket is connected to the migration's process tree"),
                "\(run.standardOutput)"
            )
            #expect(run.standardOutput.contains("terminate pid \(readerPID) → signalled"), "\(run.standardOutput)")
            let report = try fixture.report()
            #expect(report["outcome"] as? String == "succeeded")
            let audit = try String(contentsOfFile: fixture.stateDirectory + "/upgrade-audit.jsonl", encoding: .utf8)
            let signalled = audit.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["outcome"] as? String == "signalled" }.compactMap {
                ($0["blocker"] as? [String: Any])?["pid"] as? Int
            }
            #expect(signalled == [Int(readerPID)])
        }
    }

    @Test(
        "a migration over TCP that sets its own application_name is found by its socket among 1000 others of the machine"
    )
    func ownApplicationNameOverTCP() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            // /proc/net/tcp lists the machine's sockets in hash order, a page at a time: with 1000 of them,
            // the migration's is almost never on the first page.
            let crowd = try RunningCommand(
                ["-c", Self.socketCrowd, "500"],
                executable: URL(fileURLWithPath: "/usr/bin/python3")
            )
            defer { crowd.kill() }
            try await crowd.waitForStandardOutput("sockets open")
            let port = try #require(ProcessInfo.processInfo.environment["PGPORT"])
            // The migration is judged once it waits: behind a reader, rolled back once it is found.
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let psql = (ProcessInfo.processInfo.environment["PGWARDEN_PG_BIN"] ?? "/usr/bin") + "/psql"
            let run = try RunningCommand(
                fixture.arguments([]) + [
                    "--", psql, "-X", "-v", "ON_ERROR_STOP=1", "-d",
                    "host=127.0.0.1 port=\(port) dbname=\(database.name) application_name=myapp-migrate",
                    "-c", "ALTER TABLE orders ADD COLUMN note3 text",
                ]
            )
            var notFound: (any Error)?
            do { try await run.waitForStandardOutput("the migration's session: pid") } catch { notFound = error }
            _ = try await reader.query("ROLLBACK")
            if let notFound { throw notFound }
            let status = try await run.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            #expect(
                run.standardOutput.contains("is a socket of the migration's process tree"),
                "\(run.standardOutput)"
            )
        }
    }

    /// Holds `argv[1]` TCP connections to a listener of its own (twice as many sockets) until killed.
    static let socketCrowd = """
        import resource, socket, sys, time
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        held = []
        for _ in range(int(sys.argv[1])):
            held.append(socket.create_connection(listener.getsockname()))
            held.append(listener.accept()[0])
        print("sockets open", flush=True)
        time.sleep(3600)
        """

    @Test(
        "a migration that connects after 5 s: no other wait is reported as its; a session that connected after it started is not signalled meanwhile"
    )
    func slowToConnect() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            try await database.createTable("unrelated")
            let run = try RunningCommand(
                fixture.arguments(["--policy", try Self.catchAllPolicy()])
                    + ["--", "/bin/sh", "-c", "sleep 5; exec \"$@\"", "sh"] + UpgradeFixture.alembic + [
                        "upgrade", "head",
                    ]
            )
            try await run.waitForStandardOutput("migration attempt 1 starts")
            let holder = try await database.idleInTransactionReader(of: "unrelated", "batch")
            let holderPID = await holder.backendPID
            let observer = try await database.session("observer")
            let web = try await database.startBlockedStatement("ALTER TABLE unrelated ADD COLUMN z int", "web")
            try await database.waitUntilWaiting(web.pid, observer: observer)
            let status = try await run.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(run.standardOutput)\n\(run.standardError)")
            let report = try fixture.report()
            let waits = report["lock_waits"] as? [[String: Any]] ?? []
            #expect(!waits.contains { $0["pid"] as? Int == Int(web.pid) }, "\(waits)")
            #expect(!run.standardOutput.contains("migration pid \(web.pid) waits"))
            #expect(run.standardOutput.contains("none is identified as the migration's yet"), "\(run.standardOutput)")
            let audit = try String(contentsOfFile: fixture.stateDirectory + "/upgrade-audit.jsonl", encoding: .utf8)
            let first = audit.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.first { ($0["blocker"] as? [String: Any])?["pid"] as? Int == Int(holderPID) }
            #expect(first?["outcome"] as? String == "protected", "\(audit)")
            #expect((first?["detail"] as? String)?.contains("connected after the migration started") == true)
            _ = try? await holder.query("ROLLBACK")
            _ = try? await web.task.value
        }
    }
}
