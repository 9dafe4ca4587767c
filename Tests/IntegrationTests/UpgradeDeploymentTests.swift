import Foundation
import TestSupport
import Testing

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

            let recover = try await PGWardenCommand.run(["recover", "--state-dir", fixture.stateDirectory])
            #expect(recover.status == 0, "\(recover.standardOutput)\n\(recover.standardError)")
            #expect(try supervisord.states()["report"] == "RUNNING")
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

extension UpgradeTests {
    /// uWSGI before, gunicorn and a command after: `gunicorn` from Debian, as ``GunicornServer`` starts it.
    static func appServers(_ uwsgi: UWSGIServer, _ gunicorn: GunicornServer, _ marker: String) -> String {
        """
        [[app_servers]]
        kind = "uwsgi"
        fifo = "\(uwsgi.fifo)"

        [[app_servers]]
        kind = "gunicorn"
        pidfile = "\(gunicorn.pidfile)"
        reload = "after"

        [[app_servers]]
        kind = "command"
        reload = ["/usr/bin/touch", "\(marker)"]
        when = "after"

        """
    }

    @Test(
        "app servers of three kinds, each reloaded before or after as configured: uWSGI's and gunicorn's workers replaced",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/gunicorn"))
    )
    func severalAppServers() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let uwsgi = try await UWSGIServer()
            let gunicorn = try await GunicornServer()
            let uwsgiBefore = uwsgi.workerPIDs
            let gunicornBefore = gunicorn.workerPIDs
            let marker = fixture.stateDirectory + ".reloaded"
            let config = try Self.deployment(
                fixture,
                Self.crontabSet(fixture.user, "app-cli") + Self.appServers(uwsgi, gunicorn, marker),
                command: ["/bin/true"]
            )
            let result = try await PGWardenCommand.run(["upgrade", "--config", config])
            #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
            let steps = (try fixture.report()["steps"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(
                steps == [
                    "preflight", "pause workers", "reload uWSGI (before)", "reload gunicorn (after)",
                    "reload command /usr/bin/touch (after)", "resume workers",
                ]
            )
            #expect(Set(uwsgi.workerPIDs).isDisjoint(with: uwsgiBefore))
            #expect(Set(gunicorn.workerPIDs).isDisjoint(with: gunicornBefore))
            #expect(FileManager.default.fileExists(atPath: marker))
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            await uwsgi.stop()
            await gunicorn.stop()
        }
    }

    @Test(
        "--dry-run with a deployment file: every set and app server and what it would do; nothing changed",
        .enabled(if: SupervisordServer.isAvailable)
    )
    func dryRunDeployment() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let supervisord = try await SupervisordServer(user: fixture.user)
            try supervisord.control(["stop", "app-worker:worker-b"])
            let command =
                "[[workers]]\nkind = \"command\"\npause = [\"/bin/echo\", \"scale\", \"--replicas=0\"]\n"
                + "resume = [\"/bin/echo\", \"scale\", \"--replicas=3\"]\n"
            let servers = "[[app_servers]]\nkind = \"command\"\nreload = [\"/usr/bin/touch\", \"/nonexistent/x\"]\n"
            let config = try Self.deployment(
                fixture,
                Self.crontabSet(fixture.user, "app-cli") + Self.supervisorSet(supervisord) + command + servers,
                command: ["/bin/true"]
            )
            let result = try await PGWardenCommand.run(["upgrade", "--dry-run", "--config", config])
            #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
            let output = result.standardOutput
            for line in [
                "pause 1 crontab line of \(fixture.user):",
                "workers[2] (supervisor app-worker:*):",
                "supervisorctl stop app-worker:worker-a (now RUNNING), start it again after",
                "app-worker:worker-b is STOPPED: left so",
                "workers[3] (command /bin/echo scale --replicas=0):",
                "pause: /bin/echo scale --replicas=0",
                "resume: /bin/echo scale --replicas=3 (timeout 1m00s)",
                "reload command /usr/bin/touch (run /usr/bin/touch /nonexistent/x): before",
            ] {
                #expect(output.contains(line), "\(line) in \(output)")
            }
            #expect(try supervisord.states()["app-worker:worker-a"] == "RUNNING")
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
            await supervisord.stop()
        }
    }

    @Test(
        "drain by supervisord: the pause waits while a program finishes its current job (stopwaitsecs), no SIGKILL",
        .enabled(if: SupervisordServer.isAvailable)
    )
    func supervisorDrains() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let supervisord = try await SupervisordServer(user: fixture.user, stopwaitsecs: 20, jobSeconds: 3)
            let pids = try supervisord.status().compactMapValues(\.pid)
            let gate = fixture.stateDirectory + ".gate"
            let config = try Self.deployment(
                fixture,
                Self.supervisorSet(supervisord),
                command: Self.gatedMigration(gate)
            )
            let clock = ContinuousClock()
            let start = clock.now
            let run = try RunningCommand(["upgrade", "--config", config])
            try await run.waitForStandardOutput("migration under way", timeout: .seconds(60))
            // The migration starts only once both workers finished their 3 s job and exited by themselves.
            #expect(clock.now - start >= .seconds(3))
            for name in ["app-worker:worker-a", "app-worker:worker-b"] {
                #expect(kill(try #require(pids[name]), 0) != 0)
            }
            let log = try String(contentsOfFile: supervisord.directory + "/supervisord.log", encoding: .utf8)
            #expect(log.contains("stopped: worker-a (exit status 0)"), "\(log)")
            #expect(!log.contains("SIGKILL"), "\(log)")
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            #expect(try await run.waitForExit(timeout: .seconds(60)) == 0, "\(run.standardOutput)")
            #expect(try supervisord.states().values.allSatisfy { $0 == "RUNNING" })
            await supervisord.stop()
        }
    }

    @Test("a command set's pause past its timeout: stopped, named, resumed; its output in the log, sanitised")
    func commandTimeout() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let marker = fixture.stateDirectory + ".ran"
            let resumed = fixture.stateDirectory + ".resumed"
            let slow = "import sys, time\nprint('\\x1b[31mred\\x1b]0;title\\x07 pausing', flush=True)\ntime.sleep(60)"
            let set = """
                [[workers]]
                kind = "command"
                pause = ["/usr/bin/python3", "-c", \(Self.tomlString(slow))]
                resume = ["/usr/bin/touch", "\(resumed)"]
                timeout = "1s"

                """
            let config = try Self.deployment(
                fixture,
                Self.crontabSet(fixture.user, "app-cli") + set,
                command: ["/usr/bin/touch", marker]
            )
            let clock = ContinuousClock()
            let start = clock.now
            let result = try await PGWardenCommand.run(["upgrade", "--config", config])
            #expect(clock.now - start < .seconds(30))
            #expect(result.status == 70)
            #expect(
                result.standardOutput.contains("workers[2] (command /usr/bin/python3 -c "),
                "\(result.standardOutput)"
            )
            #expect(
                result.standardOutput.contains(") cannot be paused: its pause command timed out after 1s: "),
                "\(result.standardOutput)"
            )
            #expect(!result.standardOutput.contains("\u{1B}"))
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(FileManager.default.fileExists(atPath: resumed))  // a pause cut short may have half-happened
            #expect(try TestCrontab.read(fixture.user) == UpgradeFixture.crontab)
        }
    }
}
