import ConfigFile
import FoundationEssentials
import Reload
import Testing
import Workers

@testable import Supervisor

/// `[[workers]]` and `[[app_servers]]` of a `--config` file.
@Suite("The deployment file")
struct DeploymentFileTests {
    static func settings(_ text: String) throws -> UpgradeSettings {
        let path = FileManager.default.temporaryDirectory.path + "/pgwarden-deploy-\(UUID().uuidString).toml"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try UpgradeSettings.fromConfigFile(path)
    }

    static func error(_ text: String) -> String {
        do {
            _ = try settings(text)
            return "no error"
        } catch let error as ConfigError {
            return "\(error.line): " + (error.key.map { "\($0): " } ?? "") + error.message
        } catch {
            return "\(error)"
        }
    }

    static let full = """
        command = ["alembic", "upgrade", "head"]
        [[workers]]
        kind = "crontab"
        user = "app"
        match = ["app-cli"]
        stop = "drain"
        grace = "5s"

        [[workers]]
        kind = "supervisor"
        programs = ["app-worker:*", "report"]
        socket = "/tmp/s.sock"

        [[workers]]
        kind = "command"
        pause = ["kubectl", "patch", "cronjob", "report", "-p", "{\\"spec\\":{\\"suspend\\":true}}"]
        resume = ["kubectl", "patch", "cronjob", "report", "-p", "{\\"spec\\":{\\"suspend\\":false}}"]
        check = ["sh", "-c", "test x = x"]
        timeout = "30s"

        [[workers]]
        kind = "crontab"
        user = "other"
        match = "other-cli"

        [[app_servers]]
        kind = "uwsgi"
        fifo = "/run/uwsgi/app.fifo"
        [[app_servers]]
        kind = "gunicorn"
        pidfile = "/run/gunicorn/app.pid"
        reload = "after"
        [[app_servers]]
        kind = "command"
        reload = ["systemctl", "reload", "app"]
        when = "after"
        """

    @Test("every kind, in order; the first crontab set is today's settings")
    func everyKind() throws {
        let settings = try Self.settings(Self.full)
        #expect(settings.effectiveWorkerSets.map(\.kind) == ["crontab", "supervisor", "command", "crontab"])
        #expect(settings.primaryCrontabSet == 0)
        #expect(settings.pausePatterns == ["app-cli"])
        #expect(settings.crontabUser == "app")
        #expect(settings.stopWorkers == .drain)
        #expect(settings.grace == .seconds(5))
        guard case .supervisor(let set) = settings.workerSets[1], case .command(let command) = settings.workerSets[2]
        else {
            Issue.record("kinds")
            return
        }
        #expect(set.programs == ["app-worker:*", "report"])
        #expect(set.socket == "/tmp/s.sock")
        #expect(command.pause.last == "{\"spec\":{\"suspend\":true}}")
        #expect(command.check == ["sh", "-c", "test x = x"])
        #expect(command.timeout == .seconds(30))
        let servers = settings.effectiveAppServers
        #expect(servers.map(\.when) == [.before, .after, .after])
        #expect(servers.map(\.server.name) == ["uWSGI", "gunicorn", "command systemctl"])
        #expect(servers[2].server.strategy == .command(arguments: ["systemctl", "reload", "app"], pidfile: nil))
    }

    @Test("without [[workers]], the flags' one crontab set")
    func flags() throws {
        var settings = try Self.settings("command = [\"true\"]\npause_workers = \"app-cli\"\nstop_workers = \"term\"")
        #expect(settings.effectiveWorkerSets == [.crontab(CrontabSetSpec(user: nil, match: ["app-cli"], stop: .term))])
        settings.pausePatterns = []
        #expect(settings.effectiveWorkerSets.isEmpty)
        settings.reloadStrategy = .fifo(path: "/f")
        #expect(settings.effectiveAppServers.map(\.when) == [.before])
    }

    @Test(
        "a bad entry: one error naming the entry, its line and key",
        arguments: [
            ("[[workers]]\nkind = \"systemd\"", "2: workers[1]: kind: expected crontab, supervisor or command"),
            ("[[workers]]\nuser = \"x\"", "1: workers[1]: kind: missing: crontab, supervisor or command"),
            (
                "[[workers]]\nkind = \"crontab\"",
                "1: workers[1]: match: give the crontab commands to pause (regular expressions)"
            ),
            (
                "[[workers]]\nkind = \"crontab\"\nmatch = \"(\"",
                "3: workers[1]: match: '(' is not a valid regular expression"
            ),
            (
                "[[workers]]\nkind = \"crontab\"\nmatch = \"x\"\nstop = \"kill\"",
                "4: workers[1]: stop: expected none, term or drain"
            ),
            (
                "[[workers]]\nkind = \"supervisor\"\nprograms = [\"a b\"]",
                "3: workers[1]: programs: 'a b' is not a program name (name, group:name or group:*)"
            ),
            (
                "[[workers]]\nkind = \"command\"\npause = \"kubectl patch\"\nresume = [\"x\"]",
                "3: workers[1]: pause: expected an array of the program and its arguments, not a string (never run through a shell)"
            ),
            (
                "[[workers]]\nkind = \"command\"\npause = [\"x\"]",
                "1: workers[1]: resume: missing: an array of the program and its arguments"
            ),
            ("[[workers]]\nkind = \"command\"\npause = []\nresume = [\"x\"]", "3: workers[1]: pause: is empty"),
            (
                "[[workers]]\nkind = \"command\"\npause = [\"x\"]\nresume = [\"y\"]\nshell = true",
                "5: workers[1]: shell: unknown key (known keys here: check, host, kind, pause, resume, timeout)"
            ),
            (
                "pause_workers = \"x\"\n[[workers]]\nkind = \"crontab\"\nmatch = \"x\"",
                "1: pause_workers: give it in a [[workers]] entry of kind crontab, not beside [[workers]]"
            ),
            ("[[app_servers]]\nkind = \"uwsgi\"", "1: app_servers[1]: fifo: give one of fifo or pidfile"),
            (
                "[[app_servers]]\nkind = \"gunicorn\"\npidfile = \"/p\"\nreload = \"sometimes\"",
                "4: app_servers[1]: reload: expected before or after"
            ),
            (
                "uwsgi_fifo = \"/f\"\n[[app_servers]]\nkind = \"gunicorn\"\npidfile = \"/p\"",
                "1: uwsgi_fifo: give it in an [[app_servers]] entry, not beside [[app_servers]]"
            ),
            (
                "[[worker]]\nkind = \"crontab\"",
                "1: [worker] is not used in an upgrade config (its tables: [[workers]], [[app_servers]])"
            ),
        ]
    )
    func bad(text: String, expected: String) {
        #expect(Self.error("command = [\"true\"]\n" + text) == Self.shifted(expected))
    }

    /// `expected` with its line number one further down (the command line goes first).
    static func shifted(_ expected: String) -> String {
        let parts = expected.split(separator: ":", maxSplits: 1)
        guard let line = Int(parts[0]) else { return expected }
        return "\(line + 1):\(parts[1])"
    }
}
