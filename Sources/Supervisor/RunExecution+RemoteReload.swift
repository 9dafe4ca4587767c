import FoundationEssentials
import Reload
import WardenSupport
import Workers

/// App servers on other hosts: reloaded one host at a time by that host's `pgwarden reload`, through ssh, each
/// verified there (it returns when the old workers are gone and the new ones serve) before the next; the first
/// failure stops the rolling reload and says which hosts run new workers and which old.
extension RunExecution {
    /// Reloads `server` on `host`; why it failed, if it did.
    func reloadRemote(_ server: AppServerSpec, on host: String, _ time: RunMachine.ReloadTime) async -> String? {
        let name = "\(server.name) on \(TerminalText.safe(host))"
        do {
            try await Supervisor.step("reload \(name) (\(time.rawValue))", &report, log: log) {
                let arguments = Self.remoteReloadArguments(server.strategy, timeout: settings.reloadTimeout)
                let fleet = settings.fleet
                let runner = RemoteRunner(
                    fleet.runner(host).command,
                    stepTimeout: max(fleet.stepTimeout, settings.reloadTimeout + fleet.connectTimeout + .seconds(5))
                )
                let outcome = try await Supervisor.interruptible(state) { try await runner.run(arguments) }
                outcome.lines.forEach { log.say("    \(TerminalText.safe(host)): \(Redaction.redact($0))") }
            }
            return nil
        } catch {
            let failure = "the \(name) reload (\(time.rawValue)) failed: \(Supervisor.describe(error))"
            log.warn(failure)
            return failure
        }
    }

    /// `reload --gunicorn-pidfile=P --timeout 120s`, as the host's pgwarden takes it. A command's argv goes as one
    /// `--reload-command=…` word, each of its words quoted so that the host's pgwarden splits it back word for word
    /// (no shell on either side). Each value is attached with `=`, so that one starting with `-` (`--help`, `-h x`)
    /// is the option's value, never read as another option.
    static func remoteReloadArguments(_ strategy: UWSGIReload.Strategy, timeout: Duration) -> [String] {
        // Whole seconds with a unit, as every pgwarden reads a duration.
        let wait = ["--timeout", "\(max(1, timeout.components.seconds))s"]
        switch strategy {
        case .fifo(let path): return ["reload", "--uwsgi-fifo=" + path] + wait
        case .pidfile(let path): return ["reload", "--uwsgi-pidfile=" + path] + wait
        case .gunicornPidfile(let path): return ["reload", "--gunicorn-pidfile=" + path] + wait
        case .command(let arguments, let pidfile):
            return ["reload", "--reload-command=" + ShellQuoting.command(arguments)]
                + (pidfile.map { ["--uwsgi-pidfile=" + $0] } ?? []) + wait
        }
    }

    /// After the reload of `servers[failedAt]` failed: `; new workers on: …; old workers on: …` (nothing with one).
    static func rollingState(_ servers: [AppServerSpec], failedAt index: Int) -> String {
        guard servers.count > 1 else { return "" }
        let place = { (server: AppServerSpec) in server.host.map { TerminalText.safe($0) } ?? "this host" }
        let new = servers[..<index].map(place)
        let old = servers[index...].map(place)
        return
            "; the rolling reload stopped there: new workers on \(new.isEmpty ? "no host" : new.joined(separator: ", "))"
            + "; old workers on \(old.joined(separator: ", ")) (\(place(servers[index])) possibly mid-reload)"
    }
}
