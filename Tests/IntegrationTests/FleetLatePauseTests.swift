import Foundation
import TestSupport
import Testing
import WardenSupport

/// A pause still on its way to a host when the coordinator is killed and `recover` runs: recover's resume reaches the
/// host first, and the pause that lands after it must not leave that host's workers paused for good.
extension FleetUpgradeTests {
    /// A `remote_pgwarden` that, on a host whose own `/run` holds `hold-pause`, holds a pause back (as a slow link
    /// would): it says so in `/run/pause-held`, waits until `/run/release-pause` exists, then runs it, and says it
    /// ran in `/run/pause-done`.
    func holdingProgram(_ hosts: SSHHosts) throws -> String {
        let program = hosts.directory + "/pgwarden-holding"
        try """
        #!/bin/sh
        if [ "$3" = pause ] && [ -e /run/hold-pause ]; then
            : > /run/pause-held
            while [ ! -e /run/release-pause ]; do sleep 0.05; done
            \(PGWardenCommand.executable.path) "$@"; status=$?
            : > /run/pause-done
            exit $status
        fi
        exec \(PGWardenCommand.executable.path) "$@"

        """.write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        return program
    }

    @Test("kill -9 with a pause in flight, recover at once, the pause lands after: refused there, nothing left paused")
    func latePauseAfterRecover() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let run = hosts.hosts[2].directory + "/run"
        FileManager.default.createFile(atPath: run + "/hold-pause", contents: Data())
        try await ScratchDatabase.with { database in
            let process = try await PGWardenCommand.startUntilFailPoint(
                "upgrade.remote-paused-2",
                upgrade(database, try config(hosts, program: try holdingProgram(hosts)), hosts)
            )
            try await eventually("h3's pause is held back") {
                FileManager.default.fileExists(atPath: run + "/pause-held")
            }
            PGWardenCommand.killHard(process)
            let recover = try await PGWardenCommand.run(["recover", "--state-dir", stateDirectory])
            #expect(recover.status == 0, "\(recover.standardOutput) \(recover.standardError)")
            #expect(recover.standardOutput.contains("on h3: pause "), "\(recover.standardOutput)")
            #expect(recover.standardOutput.contains("had not arrived there: cancelled"), "\(recover.standardOutput)")
            // The orphaned pause now reaches h3's pgwarden.
            FileManager.default.createFile(atPath: run + "/release-pause", contents: Data())
            try await eventually("h3's late pause has run") {
                FileManager.default.fileExists(atPath: run + "/pause-done")
            }
            let h3 = try await hosts.crontab(2, of: user)
            #expect(!h3.contains("#pgwarden:paused:"), "h3 left paused: \(h3)")
            #expect(try await allRestored(hosts))
            let there = try await hosts.run(2, [PGWardenCommand.executable.path, "status"])
            #expect(there.status == 0, "\(there.output) \(there.error)")
            let again = try await PGWardenCommand.run(["recover", "--state-dir", stateDirectory])
            #expect(again.status == 0, "\(again.standardOutput) \(again.standardError)")
            #expect(!FileManager.default.fileExists(atPath: marker), "the migration ran")
        }
        try await hosts.stopAll()
    }
}
