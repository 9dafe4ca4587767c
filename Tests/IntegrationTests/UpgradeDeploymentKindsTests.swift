import Foundation
import TestSupport
import Testing

/// `upgrade --config` with a deployment file: app servers of several kinds, the dry run, supervisord's drain, a
/// command set's timeout.
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
        "app servers of three kinds, each reloaded before or after as configured, under HTTP load: no request fails",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/gunicorn"))
    )
    func severalAppServers() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let uwsgi = try await UWSGIServer()
            let gunicorn = try await GunicornServer()
            let uwsgiBefore = uwsgi.workerPIDs
            let gunicornBefore = gunicorn.workerPIDs
            // Requests to both all through the run: a reload that dropped a listener or killed a busy worker fails some.
            let loads = [HTTPLoad(port: uwsgi.port), HTTPLoad(port: gunicorn.port)]
            try await eventually("requests flow to both") { loads.allSatisfy { $0.succeeded >= 20 } }
            let marker = fixture.stateDirectory + ".reloaded"
            let config = try Self.deployment(
                fixture,
                Self.crontabSet(fixture.user, "app-cli") + Self.appServers(uwsgi, gunicorn, marker),
                command: ["/bin/true"]
            )
            let result = try await PGWardenCommand.run(["upgrade", "--config", config])
            #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
            let served = loads.map(\.succeeded)
            try await eventually("requests flow after the run") {
                zip(loads, served).allSatisfy { $0.succeeded >= $1 + 20 }
            }
            for load in loads {
                try await load.stop()
                load.expectNoFailedRequests()
            }
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
