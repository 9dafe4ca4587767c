import Foundation
import TestSupport
import Testing
import WardenSupport

/// SIGHUP, SIGINT and SIGTERM sent to the coordinator with three hosts paused, or with their pauses in flight:
/// as for a local run (SIGHUP ignored, the run goes on; SIGINT and SIGTERM stop the migration, exit 128+N, the report
/// says `interrupted`), and every host's crontab comes back byte for byte.
extension FleetUpgradeTests {
    var reportPath: String { stateDirectory + "-report.json" }
    var go: String { marker + ".go" }

    /// The migration: records how many crontab lines each host has paused (in `marker`, written whole at once),
    /// then waits until `go` exists.
    func waitingMigration(_ hosts: SSHHosts) -> [String] {
        let count = hosts.hosts.map {
            "unshare --mount --propagation private \($0.directory)/enter crontab -u \(user) -l | grep -c '#pgwarden:paused:'"
        }
        let wait = "while [ ! -e \(go) ]; do sleep 0.1; done"
        return [
            "--", "/bin/sh", "-c",
            "{ \(count.joined(separator: "; ")); } > \(marker).part; mv \(marker).part \(marker); \(wait)",
        ]
    }

    func running(_ database: ScratchDatabase, _ config: String, _ hosts: SSHHosts) throws -> RunningCommand {
        try RunningCommand(
            [
                "upgrade", "--dsn", database.connectionString, "--config", config, "--state-dir", stateDirectory,
                "--no-interactive", "--report", reportPath,
            ] + waitingMigration(hosts)
        )
    }

    func outcome() throws -> String? {
        let data = try Data(contentsOf: URL(fileURLWithPath: reportPath))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["outcome"] as? String
    }

    @Test(
        "a signal while the migration runs with three hosts paused: as for a local run; every host restored",
        arguments: [SIGHUP, SIGINT, SIGTERM]
    )
    func signalWhileMigrating(_ signal: Int32) async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        try await ScratchDatabase.with { database in
            let run = try running(database, try config(hosts), hosts)
            try await eventually("the migration runs with every host paused") {
                FileManager.default.fileExists(atPath: marker)
            }
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "1\n1\n1\n")
            run.send(signal)
            if signal == SIGHUP {
                try await run.waitForStandardOutput("SIGHUP ignored")
                _ = FileManager.default.createFile(atPath: go, contents: nil)
                #expect(try await run.waitForExit(timeout: .seconds(120)) == 0, "\(run.standardError)")
                #expect(try outcome() == "succeeded")
            } else {
                #expect(try await run.waitForExit(timeout: .seconds(120)) == 128 + signal, "\(run.standardError)")
                #expect(try outcome() == "interrupted")
            }
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("SIGTERM while three hosts' pauses are in flight: they are waited for, every host resumed, nothing runs")
    func signalWhilePausing() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let slow = try slowProgram(hosts, seconds: 3)
        try await ScratchDatabase.with { database in
            let run = try running(database, try config(hosts, program: slow.program, parallel: 3), hosts)
            try await eventually("every host's pause is under way") {
                (try? pauseTimes(slow.times))?.starts.count == 3
            }
            run.send(SIGTERM)
            #expect(try await run.waitForExit(timeout: .seconds(120)) == 128 + SIGTERM, "\(run.standardError)")
            #expect(try outcome() == "interrupted")
            #expect(!FileManager.default.fileExists(atPath: marker))
            // Each pause in flight ended (paused there), and was resumed.
            #expect(try pauseTimes(slow.times).ends.count == 3)
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }
}
