import Foundation
import TestSupport
import Testing
import WardenSupport

/// A host's step counts as done only when its pgwarden confirms it: a `remote_pgwarden` that exits 0 and says
/// nothing (a wrapper, a ForceCommand, a shell start-up file that swallows the answer) must not pass for a pause or
/// a resume.
extension FleetUpgradeTests {
    /// A `remote_pgwarden` that, on a host whose own `/run` holds `mute-STEP`, exits 0 at that step without doing it
    /// or answering.
    func mutedProgram(_ hosts: SSHHosts) throws -> String {
        let program = hosts.directory + "/pgwarden-muted"
        try """
        #!/bin/sh
        [ -e "/run/mute-$3" ] && exit 0
        exec \(PGWardenCommand.executable.path) "$@"

        """.write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        return program
    }

    @Test("a host that exits 0 without confirming its pause: named, every host resumed, the migration never runs")
    func unconfirmedPause() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let config = try config(hosts, program: try mutedProgram(hosts))
        FileManager.default.createFile(atPath: hosts.hosts[1].directory + "/run/mute-pause", contents: Data())
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, config, hosts))
            #expect(run.status != 0)
            let said = run.standardOutput + run.standardError
            #expect(said.contains("h2 did not confirm the pause of pause"), "\(said)")
            #expect(said.contains("error: cannot pause the workers: "), "\(said)")
            #expect(!FileManager.default.fileExists(atPath: marker), "the migration ran")
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("a host that exits 0 without confirming its resume: the run fails naming it; recover completes it later")
    func unconfirmedResume() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let config = try config(hosts, program: try mutedProgram(hosts))
        let mute = hosts.hosts[1].directory + "/run/mute-resume"
        FileManager.default.createFile(atPath: mute, contents: Data())
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, config, hosts))
            #expect(run.status != 0)
            let said = run.standardOutput + run.standardError
            #expect(said.contains("h2 did not confirm the resume of pause"), "\(said)")
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "1\n1\n1\n")
            #expect(try await hosts.crontab(1, of: user).contains("#pgwarden:paused:"))
            let status = try await PGWardenCommand.run(["status", "--state-dir", stateDirectory])
            #expect(status.status == ExitStatus.needsRecovery, "\(status.standardOutput)")
            #expect(status.standardOutput.contains(" on h2 (pause "), "\(status.standardOutput)")
            let early = try await PGWardenCommand.run(["recover", "--state-dir", stateDirectory])
            #expect(early.status != 0, "\(early.standardOutput)")
            #expect(early.standardOutput.contains("did not confirm the resume"), "\(early.standardOutput)")
            try FileManager.default.removeItem(atPath: mute)
            let recover = try await PGWardenCommand.run(["recover", "--state-dir", stateDirectory])
            #expect(recover.status == 0, "\(recover.standardOutput) \(recover.standardError)")
            #expect(try await allRestored(hosts))
            let after = try await PGWardenCommand.run(["status", "--state-dir", stateDirectory])
            #expect(after.status == ExitStatus.lastRunDidNotSucceed, "\(after.standardOutput)")
        }
        try await hosts.stopAll()
    }
}
