import Foundation
import TestSupport
import Testing
import WardenSupport

/// `pgwarden upgrade` with worker sets on three hosts (real sshd instances on 127.0.0.2-4, or PGWARDEN_TEST_SSH_NET, each with its own crontab
/// spool and journal), reached through real OpenSSH with the keys the test made.
@Suite("Upgrade across hosts", .serialized, .enabled(if: TestCrontab.isAvailable, TestCrontab.unavailableReason))
struct FleetUpgradeTests {
    let user = TestCrontab.fleetUser
    let stateDirectory = NSTemporaryDirectory() + "pgwarden-fleet-state-" + UUID().uuidString
    let marker = NSTemporaryDirectory() + "pgwarden-fleet-ran-" + UUID().uuidString

    static func crontab(_ host: String) -> String {
        """
        MAILTO=ops@example.org
        # \(host)'s workers
        */5 * * * * /home/app/bin/app-cli process --host \(host)
        0 3 * * * /srv/reports/report-cli nightly

        """
    }

    /// Three hosts, each with the crontab above.
    func hosts() async throws -> SSHHosts {
        let hosts = try await SSHHosts(count: 3)
        for index in 0..<3 {
            try await hosts.installCrontab(index, Self.crontab(hosts.hosts[index].name), for: user)
        }
        return hosts
    }

    /// A deployment file: one crontab set per host.
    func config(
        _ hosts: SSHHosts,
        retry: String = "2s",
        program: String = PGWardenCommand.executable.path,
        parallel: Int = 8,
        sshConfig: String? = nil
    ) throws -> String {
        var text = """
            ssh_config = "\(sshConfig ?? hosts.sshConfig)"
            remote_pgwarden = "\(program)"
            connect_timeout = "5s"
            remote_resume_retry = "\(retry)"
            parallel_hosts = \(parallel)

            """
        for host in hosts.hosts {
            text += """

                [[workers]]
                kind = "crontab"
                user = "\(user)"
                match = ["app-cli"]
                host = "\(host.name)"

                """
        }
        let path = stateDirectory + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The migration: records, for each host, how many of its crontab lines are paused while it runs.
    /// Then stops the sshd of host `stopping`, if given (an SSH drop before the resume).
    func migration(_ hosts: SSHHosts, stopping: Int? = nil) -> [String] {
        let count = hosts.hosts.map {
            "unshare --mount --propagation private \($0.directory)/enter crontab -u \(user) -l | grep -c '#pgwarden:paused:'"
        }
        let stop = stopping.flatMap { hosts.pid($0) }.map { "; kill \($0)" } ?? ""
        return ["--", "/bin/sh", "-c", "{ \(count.joined(separator: "; ")); } > \(marker)\(stop)"]
    }

    func upgrade(
        _ database: ScratchDatabase,
        _ config: String,
        _ hosts: SSHHosts,
        _ extra: [String] = [],
        stopping: Int? = nil
    ) -> [String] {
        [
            "upgrade", "--dsn", database.connectionString, "--config", config, "--state-dir", stateDirectory,
            "--no-interactive",
        ]
            + extra + migration(hosts, stopping: stopping)
    }

    func allRestored(_ hosts: SSHHosts) async throws -> Bool {
        for index in 0..<3 where try await hosts.crontab(index, of: user) != Self.crontab(hosts.hosts[index].name) {
            return false
        }
        return true
    }

    @Test("three hosts: all paused while the migration runs, all resumed byte for byte; status names each host")
    func pausesAllResumesAll() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let outside = try TestCrontab.read(user)
        try await ScratchDatabase.with { database in
            let dry = try await PGWardenCommand.run(upgrade(database, try config(hosts), hosts, ["--dry-run"]))
            #expect(dry.status == 0, "\(dry.standardError)")
            for host in ["h1", "h2", "h3"] {
                #expect(dry.standardOutput.contains("on \(host)"), "\(dry.standardOutput)")
            }
            #expect(try await allRestored(hosts))
            let run = try await PGWardenCommand.run(upgrade(database, try config(hosts), hosts))
            #expect(run.status == 0, "\(run.standardError)")
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "1\n1\n1\n")
            #expect(try await allRestored(hosts))
            #expect(try TestCrontab.read(user) == outside)
        }
        try await hosts.stopAll()
    }

    @Test("a host whose sshd is stopped before the pause: the error names it, nothing is paused, nothing runs")
    func unreachableBeforePause() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        try await hosts.stop(2)
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, try config(hosts), hosts))
            #expect(run.status != 0)
            #expect(run.standardError.contains("error:") && run.standardError.contains("h3"), "\(run.standardError)")
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("kill -9 of the coordinator between the second and third host's pause: recover restores every host")
    func killedBetweenHosts() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        try await ScratchDatabase.with { database in
            let process = try await PGWardenCommand.startUntilFailPoint(
                "upgrade.remote-paused-2",
                // One host at a time: the third is not asked before the second has answered.
                upgrade(database, try config(hosts, parallel: 1), hosts)
            )
            PGWardenCommand.killHard(process)
            #expect(try await hosts.crontab(0, of: user).contains("#pgwarden:paused:"))
            #expect(try await hosts.crontab(1, of: user).contains("#pgwarden:paused:"))
            // h1 recovered by hand, there: the coordinator's recover must recognise it.
            let byHand = try await hosts.run(0, [PGWardenCommand.executable.path, "recover"])
            #expect(byHand.status == 0, "\(byHand.output) \(byHand.error)")
            let status = try await PGWardenCommand.run(["status", "--state-dir", stateDirectory])
            #expect(status.standardOutput.contains("on h2"), "\(status.standardOutput)")
            let recover = try await PGWardenCommand.run(["recover", "--state-dir", stateDirectory])
            #expect(recover.status == 0, "\(recover.standardOutput) \(recover.standardError)")
            #expect(recover.standardOutput.contains("was resumed there already"), "\(recover.standardOutput)")
            #expect(try await allRestored(hosts))
            #expect(!FileManager.default.fileExists(atPath: marker))
            let again = try await PGWardenCommand.run(["recover", "--state-dir", stateDirectory])
            #expect(again.status == 0)
        }
        try await hosts.stopAll()
    }

    @Test("a host whose sshd is stopped before the resume: the run fails naming it; recover completes it later")
    func unreachableAtResume() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(
                upgrade(database, try config(hosts, retry: "2s"), hosts, stopping: 1)
            )
            #expect(run.status != 0)
            let said = run.standardOutput + run.standardError
            #expect(said.contains("h2") && said.contains("was not resumed"), "\(said)")
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "1\n1\n1\n")
            try await hosts.stop(1)
            #expect(try await hosts.crontab(0, of: user) == Self.crontab("h1"))
            #expect(try await hosts.crontab(1, of: user).contains("#pgwarden:paused:"))
            let early = try await PGWardenCommand.run(["recover", "--state-dir", stateDirectory])
            #expect(early.status != 0)
            try await hosts.start(1)
            let recover = try await PGWardenCommand.run(["recover", "--state-dir", stateDirectory])
            #expect(recover.status == 0, "\(recover.standardOutput) \(recover.standardError)")
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("a remote pgwarden of another minor version: the error names the host and both versions; nothing changes")
    func otherVersion() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let program = hosts.directory + "/pgwarden-0.2"
        try """
        #!/bin/sh
        [ "$1" = --version ] && { echo 'pgwarden 0.2.0, libpq 15.4'; exit 0; }
        # As a pgwarden that does not know the one-call preflight of this version.
        [ "$3" = preflight ] && { echo "Error: Unexpected argument 'preflight'" >&2; exit 64; }
        exec \(PGWardenCommand.executable.path) "$@"

        """.write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, try config(hosts, program: program), hosts))
            #expect(run.status != 0)
            #expect(
                run.standardError.contains("h1 runs pgwarden 0.2.0, this one is 0.1.0"),
                "\(run.standardError)"
            )
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("a host slower than the step timeout: named with the timeout; the hosts already paused are resumed")
    func slowHost() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        // On h3 only (its own /run), the pause takes longer than the step timeout.
        let program = hosts.directory + "/pgwarden-slow"
        try """
        #!/bin/sh
        [ -e /run/slow ] && [ "$3" = pause ] && { sleep 6; \(PGWardenCommand.executable.path) "$@"; echo $? > /run/slow-done; exit; }
        exec \(PGWardenCommand.executable.path) "$@"

        """.write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        FileManager.default.createFile(atPath: hosts.hosts[2].directory + "/run/slow", contents: Data())
        let config = try config(hosts, program: program)
        try (try String(contentsOfFile: config, encoding: .utf8) + "")
            .replacingOccurrences(
                of: "connect_timeout = \"5s\"",
                with: "connect_timeout = \"5s\"\nremote_step_timeout = \"3s\""
            )
            .write(toFile: config, atomically: true, encoding: .utf8)
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, config, hosts))
            #expect(run.status != 0)
            let said = run.standardOutput + run.standardError
            #expect(said.contains("h3 did not answer within 3s"), "\(said)")
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try await allRestored(hosts))
            // The pause that reached h3 after the coordinator gave up on it is refused there.
            try await eventually("the late pause on h3 has ended", timeout: .seconds(20)) {
                FileManager.default.fileExists(atPath: hosts.hosts[2].directory + "/run/slow-done")
            }
            #expect(try String(contentsOfFile: hosts.hosts[2].directory + "/run/slow-done", encoding: .utf8) != "0\n")
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }
}
