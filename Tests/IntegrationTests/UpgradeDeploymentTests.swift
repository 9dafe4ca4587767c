import Foundation
import TestSupport
import Testing
import WardenSupport

/// `upgrade --config` with a deployment file: several worker sets (two crontab users, a real supervisord, a
/// command set) paused all or nothing and resumed on every path; `recover` after a kill -9.
extension UpgradeTests {
    /// A second crontab user for the runs with two: the fault suite's own user (the fault suite runs after the
    /// Swift tests, never beside them).
    static var secondCrontabUser: String? { ProcessInfo.processInfo.environment["PGWARDEN_FAULTS_USER"] }
    static let secondCrontab = "*/10 * * * * /srv/other/other-cli sync\n"

    /// A deployment file for `fixture`: `sets` after the command and the state directory.
    static func deployment(_ fixture: UpgradeFixture, _ sets: String, command: [String]) throws -> String {
        let path = fixture.stateDirectory + ".toml"
        let argv = command.map(tomlString).joined(separator: ", ")
        try """
        dsn = "\(fixture.database.connectionString)"
        state_dir = "\(fixture.stateDirectory)"
        report = "\(fixture.reportPath)"
        interactive = false
        command = [\(argv)]

        \(sets)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A migration that says `migration under way` (a text its command line does not hold), then waits until `gate` exists: the test looks at the workers meanwhile.
    static func gatedMigration(_ gate: String) -> [String] {
        [
            "/usr/bin/python3", "-c",
            "import os, time\nprint('migration ' + 'under way', flush=True)\nwhile not os.path.exists('\(gate)'): time.sleep(0.05)",
        ]
    }

    static func supervisorSet(_ supervisord: SupervisordServer, programs: String = "\"app-worker:*\"") -> String {
        "[[workers]]\nkind = \"supervisor\"\nprograms = [\(programs)]\nconfig = \"\(supervisord.config)\"\n"
    }

    static func crontabSet(_ user: String, _ match: String) -> String {
        "[[workers]]\nkind = \"crontab\"\nuser = \"\(user)\"\nmatch = [\"\(match)\"]\nstop = \"term\"\n"
    }

    @Test(
        "two crontab users and supervisord in one run: all paused (programs STOPPED, their processes gone), all restored",
        .enabled(if: SupervisordServer.isAvailable && UpgradeTests.secondCrontabUser != nil)
    )
    func twoCrontabsAndSupervisord() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let second = try #require(Self.secondCrontabUser)
            try TestCrontab.install(Self.secondCrontab, for: second)
            defer { try? TestCrontab.remove(second) }
            let supervisord = try await SupervisordServer(user: fixture.user)
            let before = try supervisord.status()
            let gate = fixture.stateDirectory + ".gate"
            let config = try Self.deployment(
                fixture,
                Self.crontabSet(fixture.user, "app-cli") + Self.supervisorSet(supervisord)
                    + Self.crontabSet(second, "other-cli"),
                command: Self.gatedMigration(gate)
            )
            let run = try RunningCommand(["upgrade", "--config", config])
            try await run.waitForStandardOutput("migration under way")
            let paused = try supervisord.status()
            #expect(paused["app-worker:worker-a"]?.state == "STOPPED")
            #expect(paused["app-worker:worker-b"]?.state == "STOPPED")
            #expect(paused["report"]?.state == "RUNNING")  // not in the set
            for name in ["app-worker:worker-a", "app-worker:worker-b"] {
                let pid = try #require(before[name]?.pid)
                #expect(kill(pid, 0) != 0, "\(name)'s process \(pid) is gone")
            }
            #expect(try fixture.crontabIsPaused())
            #expect(try TestCrontab.read(second).contains("#pgwarden:paused:"))
            let status = try await PGWardenCommand.run(["status", "--state-dir", fixture.stateDirectory])
            #expect(
                status.standardOutput.contains("workers[2] (supervisor app-worker:*): paused"),
                "\(status.standardOutput)"
            )
            _ = FileManager.default.createFile(atPath: gate, contents: nil)

            #expect(
                try await run.waitForExit(timeout: .seconds(60)) == 0,
                "\(run.standardOutput)\n\(run.standardError)"
            )
            #expect(try supervisord.states().values.allSatisfy { $0 == "RUNNING" })
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            #expect(try TestCrontab.read(second) == Self.secondCrontab)
            let steps = (try fixture.report()["steps"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(
                steps.filter { $0.hasPrefix("resume") }.map { String($0.prefix(17)) } == [
                    "resume workers[3]", "resume workers[2]", "resume workers[1]",
                ]
            )
            await supervisord.stop()
        }
    }

    @Test(
        "kill -9 of upgrade mid-pause: recover starts exactly the programs that were running, and the crontab",
        .enabled(if: SupervisordServer.isAvailable),
        arguments: ["sets.pause.journaled", "upgrade.set-paused.1", "upgrade.workers-paused"]
    )
    func killedMidPause(failPoint: String) async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let supervisord = try await SupervisordServer(user: fixture.user)
            try supervisord.control(["stop", "app-worker:worker-b"])  // stopped before: stays stopped
            let config = try Self.deployment(
                fixture,
                Self.crontabSet(fixture.user, "app-cli") + Self.supervisorSet(supervisord),
                command: ["/bin/true"]
            )
            let process = try await PGWardenCommand.startUntilFailPoint(failPoint, ["upgrade", "--config", config])
            PGWardenCommand.killHard(process)

            let recover = try await PGWardenCommand.run(["recover", "--state-dir", fixture.stateDirectory])
            #expect(recover.status == 0, "\(recover.standardOutput)\n\(recover.standardError)")
            #expect(
                try supervisord.states() == [
                    "app-worker:worker-a": "RUNNING", "app-worker:worker-b": "STOPPED", "report": "RUNNING",
                ]
            )
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            let again = try await PGWardenCommand.run(["recover", "--state-dir", fixture.stateDirectory])
            #expect(again.standardOutput.contains("no workers were paused"), "\(again.standardOutput)")
            await supervisord.stop()
        }
    }

    @Test(
        "a supervisor program that does not exist: one error naming the set, nothing paused, the migration never runs",
        .enabled(if: SupervisordServer.isAvailable)
    )
    func unknownProgram() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let supervisord = try await SupervisordServer(user: fixture.user)
            let marker = fixture.stateDirectory + ".ran"
            let config = try Self.deployment(
                fixture,
                Self.crontabSet(fixture.user, "app-cli")
                    + Self.supervisorSet(supervisord, programs: "\"app-worker:*\", \"nope\""),
                command: ["/usr/bin/touch", marker]
            )
            let result = try await PGWardenCommand.run(["upgrade", "--config", config])
            #expect(result.status == 1)
            #expect(
                result.standardError.contains(
                    "error: workers[2] (supervisor app-worker:* nope) cannot be paused: supervisord has no program or group nope"
                ),
                "\(result.standardError)"
            )
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try supervisord.states().values.allSatisfy { $0 == "RUNNING" })
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            await supervisord.stop()
        }
    }

    @Test(
        "all or nothing: a command set whose pause fails after a crontab and supervisord were paused; they come back, no migration",
        .enabled(if: SupervisordServer.isAvailable)
    )
    func pauseFailsAtTheThirdSet() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let supervisord = try await SupervisordServer(user: fixture.user)
            let marker = fixture.stateDirectory + ".ran"
            let failing = "[[workers]]\nkind = \"command\"\npause = [\"/bin/false\"]\nresume = [\"/bin/true\"]\n"
            let config = try Self.deployment(
                fixture,
                Self.crontabSet(fixture.user, "app-cli") + Self.supervisorSet(supervisord) + failing,
                command: ["/usr/bin/touch", marker]
            )
            let result = try await PGWardenCommand.run(["upgrade", "--config", config])
            #expect(result.status != 0)
            #expect(
                result.standardOutput.contains(
                    "workers[3] (command /bin/false) cannot be paused: its pause command failed (exit status 1)"
                ),
                "\(result.standardOutput)"
            )
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try supervisord.states().values.allSatisfy { $0 == "RUNNING" })
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            #expect(try fixture.report()["outcome"] as? String == "failed")
            await supervisord.stop()
        }
    }

    @Test(
        "a command set driving supervisorctl, whose resume fails once: named in the exit status, completed by recover",
        .enabled(if: SupervisordServer.isAvailable)
    )
    func commandResumeFailsOnce() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let supervisord = try await SupervisordServer(user: fixture.user)
            let once = fixture.stateDirectory + ".failed-once"
            // The resume fails the first time (it leaves a mark), then starts the program: a flaky API, say.
            let resume =
                "import os, subprocess, sys\nif not os.path.exists('\(once)'):\n    open('\(once)', 'w').close(); print('the API is down'); sys.exit(1)\n"
                + "sys.exit(subprocess.call(['supervisorctl', '-c', '\(supervisord.config)', 'start', 'report']))"
            let set = """
                [[workers]]
                kind = "command"
                pause = ["supervisorctl", "-c", "\(supervisord.config)", "stop", "report"]
                resume = ["/usr/bin/python3", "-c", \(Self.tomlString(resume))]
                check = ["/bin/sh", "-c", "! supervisorctl -c \(supervisord.config) status report"]
                timeout = "30s"

                """
            let gate = fixture.stateDirectory + ".gate"
            let config = try Self.deployment(fixture, set, command: Self.gatedMigration(gate))
            let run = try RunningCommand(["upgrade", "--config", config])
            try await run.waitForStandardOutput("migration under way")
            #expect(try supervisord.states()["report"] == "STOPPED")
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            #expect(try await run.waitForExit(timeout: .seconds(60)) == 70)
            #expect(run.standardOutput.contains("the API is down"), "\(run.standardOutput)")
            #expect(
                run.standardOutput.contains(
                    "cannot resume the workers: its resume command failed (exit status 1): the API is down"
                ),
                "\(run.standardOutput)"
            )
            #expect(try supervisord.states()["report"] == "STOPPED")
            // status names the set left paused and exits 3 (needs recover), not 2 (a run that failed, nothing to do).
            let status = try await PGWardenCommand.run(["status", "--state-dir", fixture.stateDirectory])
            #expect(status.status == ExitStatus.needsRecovery, "\(status.standardOutput)")
            #expect(status.standardOutput.contains("workers[1] (command"), "\(status.standardOutput)")
            #expect(status.standardOutput.contains("resume-failed"), "\(status.standardOutput)")

            let recover = try await PGWardenCommand.run(["recover", "--state-dir", fixture.stateDirectory])
            #expect(recover.status == 0, "\(recover.standardOutput)\n\(recover.standardError)")
            #expect(try supervisord.states()["report"] == "RUNNING")
            let after = try await PGWardenCommand.run(["status", "--state-dir", fixture.stateDirectory])
            #expect(after.status == ExitStatus.lastRunDidNotSucceed, "\(after.standardOutput)")
            await supervisord.stop()
        }
    }

    /// `text` as a TOML basic string.
    static func tomlString(_ text: String) -> String {
        "\""
            + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
