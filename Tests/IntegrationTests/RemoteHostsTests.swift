import Foundation
import TestSupport
import Testing
import WardenSupport
import Workers

/// pgwarden on other hosts through real OpenSSH: sshd instances on 127.0.0.x, each in a mount namespace of its own
/// (its own crontab spool and journal), reached with a key and host keys the test made.
@Suite(
    "Remote hosts through OpenSSH",
    .serialized,
    .enabled(if: TestCrontab.isAvailable, TestCrontab.unavailableReason)
)
struct RemoteHostsTests {
    let user = TestCrontab.fleetUser
    static let crontab = """
        MAILTO=ops@example.org
        */5 * * * * /home/app/bin/app-cli process --queue main
        0 * * * * /home/app/bin/app-cli report
        */10 * * * * /home/reports/bin/report-cli refresh

        """

    static func said(_ error: any Error) -> String { (error as? WorkersError)?.summary ?? "\(error)" }

    func runner(_ hosts: SSHHosts, _ index: Int, timeout: Duration = .seconds(30)) -> RemoteRunner {
        RemoteRunner(
            RemoteCommand(
                destination: hosts.hosts[index].name,
                sshConfig: hosts.sshConfig,
                connectTimeout: .seconds(5),
                program: PGWardenCommand.executable.path
            ),
            stepTimeout: timeout
        )
    }

    @Test(
        "a worker set paused on one host through ssh is in that host's crontab and journal only; resumed byte for byte"
    )
    func pauseAndResumeOnOneHost() async throws {
        let hosts = try await SSHHosts(count: 2)
        defer { hosts.remove() }
        let outside = try TestCrontab.read(user)
        for index in 0..<2 { try await hosts.installCrontab(index, Self.crontab, for: user) }
        let runner = runner(hosts, 0)
        try await runner.checkVersion(localVersion: "0.1.0")
        await #expect(throws: WorkersError.self) { try await runner.checkVersion(localVersion: "0.2.0") }

        let spec = WorkerSetSpec.crontab(CrontabSetSpec(user: user, match: ["app-cli"]))
        let json = String(decoding: try JournalCoding.encode(spec), as: UTF8.self)
        let id = "20261207T140000Z-3fa1-w01"
        let paused = try await runner.run(["workers", "set", "pause", "--pause-id", id, "--spec", json])
        #expect(paused.answer?.state == "paused")
        let h1 = try await hosts.crontab(0, of: user)
        #expect(h1.contains("#pgwarden:paused:"))
        #expect(h1.components(separatedBy: "#pgwarden:paused:").count == 3)
        #expect(try await hosts.crontab(1, of: user) == Self.crontab)
        #expect(try TestCrontab.read(user) == outside)
        #expect(FileManager.default.fileExists(atPath: hosts.hosts[0].stateDirectory + "/sets/\(id)"))

        let again = try await runner.run(["workers", "set", "pause", "--pause-id", id, "--spec", json])
        #expect(again.answer?.state == "already-paused")
        #expect(try await runner.run(["workers", "set", "status", "--pause-id", id]).answer?.state == "paused")
        let resumed = try await runner.run(["workers", "set", "resume", "--pause-id", id])
        #expect(resumed.answer?.state == "resumed")
        #expect(try await hosts.crontab(0, of: user) == Self.crontab)
        let twice = try await runner.run(["workers", "set", "resume", "--pause-id", id])
        #expect(twice.answer?.state == "not-paused")
        try await hosts.stopAll()
    }

    @Test("a resume before its pause: cancelled, durably; the pause refused when it comes; the tombstone goes after")
    func resumeBeforePause() async throws {
        let hosts = try await SSHHosts(count: 1)
        defer { hosts.remove() }
        try await hosts.installCrontab(0, Self.crontab, for: user)
        let runner = runner(hosts, 0)
        let json = String(
            decoding: try JournalCoding.encode(WorkerSetSpec.crontab(CrontabSetSpec(user: user, match: ["app-cli"]))),
            as: UTF8.self
        )
        let id = "20261207T150000Z-7c2e-w1"
        let deadline = String(Int(Date().timeIntervalSince1970) + 60)
        let early = try await runner.run(["workers", "set", "resume", "--pause-id", id, "--not-after", deadline])
        #expect(early.answer?.state == "cancelled", "\(early.lines)")
        let tombstone = hosts.hosts[0].stateDirectory + "/sets/\(id)/cancelled.json"
        #expect(FileManager.default.fileExists(atPath: tombstone))
        let again = try await runner.run(["workers", "set", "resume", "--pause-id", id])
        #expect(again.answer?.state == "cancelled")
        await #expect {
            try await runner.run(["workers", "set", "pause", "--pause-id", id, "--spec", json, "--not-after", deadline])
        } throws: { error in
            Self.said(error).contains("was resumed by recover before it arrived")
        }
        #expect(try await hosts.crontab(0, of: user) == Self.crontab)
        #expect(try await runner.run(["workers", "set", "status", "--pause-id", id]).answer?.state == "not-paused")

        // A tombstone whose pause's deadline has passed goes when the next one is made.
        let past = String(Int(Date().timeIntervalSince1970) - 1)
        let old = "20261207T150000Z-7c2e-w2"
        _ = try await runner.run(["workers", "set", "resume", "--pause-id", old, "--not-after", past])
        // The host's own recover finds nothing paused in a tombstone's directory (and leaves its locks there).
        let there = try await hosts.run(0, [PGWardenCommand.executable.path, "recover"])
        #expect(there.status == 0, "\(there.output) \(there.error)")
        let next = try await runner.run(["workers", "set", "resume", "--pause-id", "20261207T150000Z-7c2e-w3"])
        #expect(next.answer?.state == "cancelled")
        #expect(!FileManager.default.fileExists(atPath: hosts.hosts[0].stateDirectory + "/sets/\(old)"))
        #expect(FileManager.default.fileExists(atPath: tombstone))
        try await hosts.stopAll()
    }

    @Test("a set that does not exist on the host, a stopped sshd and a changed host key are errors naming the host")
    func failuresNameTheHost() async throws {
        let hosts = try await SSHHosts(count: 2)
        defer { hosts.remove() }
        try await hosts.installCrontab(0, Self.crontab, for: user)
        let missing = WorkerSetSpec.crontab(CrontabSetSpec(user: user, match: ["no-such-worker"]))
        let json = String(decoding: try JournalCoding.encode(missing), as: UTF8.self)
        await #expect {
            try await runner(hosts, 0).run(["workers", "set", "plan", "--pause-id", "1-a", "--spec", json])
        } throws: { error in
            Self.said(error).contains("on h1:") && Self.said(error).contains("no-such-worker")
        }
        try await hosts.stop(1)
        await #expect {
            try await runner(hosts, 1).checkVersion(localVersion: "0.1.0")
        } throws: { error in
            Self.said(error).contains("cannot reach h2 through ssh") && Self.said(error).contains("refused")
        }
        try hosts.changeHostKey(1)
        try await hosts.start(1)
        await #expect {
            try await runner(hosts, 1).checkVersion(localVersion: "0.1.0")
        } throws: { error in
            Self.said(error).contains("cannot reach h2 through ssh")
                && Self.said(error).contains("Host key verification failed")
        }
        try await hosts.stopAll()
    }

    @Test("a session lost during the step (the host's pgwarden killed) is told from a host that cannot be reached")
    func lostDuringTheStep() async throws {
        let hosts = try await SSHHosts(count: 1)
        defer { hosts.remove() }
        // A pgwarden there that dies of SIGKILL at its step, after ssh has connected: ssh exits 255, saying nothing.
        let program = hosts.directory + "/pgwarden-killed"
        try "#!/bin/sh\nkill -9 $$\n".write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        let killed = RemoteRunner(
            RemoteCommand(
                destination: "h1",
                sshConfig: hosts.sshConfig,
                connectTimeout: .seconds(5),
                program: program
            ),
            stepTimeout: .seconds(30)
        )
        await #expect {
            try await killed.run(["workers", "set", "status", "--pause-id", "1-a"])
        } throws: { error in
            Self.said(error).hasPrefix("the connection to h1 was lost during the step")
                && (error as? WorkersError)?.code == .hostUnreachable
        }
        // What the run log shows of a step that went through has none of ssh's own lines.
        let fine = try await runner(hosts, 0).run(["workers", "set", "status", "--pause-id", "1-a"])
        #expect(fine.answer?.state == "not-paused")
        #expect(
            fine.lines.allSatisfy { !$0.hasPrefix("Authenticated to ") && !$0.hasPrefix("Transferred: ") },
            "\(fine.lines)"
        )
        try await hosts.stop(0)
        await #expect {
            try await runner(hosts, 0).run(["--version"])
        } throws: { error in
            Self.said(error).hasPrefix("cannot reach h1 through ssh") && Self.said(error).contains("refused")
        }
        try await hosts.stopAll()
    }
}
