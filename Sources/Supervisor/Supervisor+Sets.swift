import FoundationEssentials
import Reload
import WardenSupport
import Workers

#if canImport(Glibc)
    import Glibc
#endif

/// Preflight and the dry run's plan of the worker sets and app servers of a deployment file.
extension Supervisor {
    /// What each set but the first crontab one would do; a set that cannot be paused as given (a program
    /// supervisord does not know) is an error before anything changes, the first in the order given. The sets on
    /// other hosts are read from `hosts`, each host's answer (``preflightHosts()``).
    func planSets(_ hosts: HostAnswers) async throws -> [Int: [String]] {
        let specs = settings.effectiveWorkerSets
        let primary = settings.primaryCrontabSet
        var plans: [Int: [String]] = [:]
        for index in specs.indices where index != primary {
            do {
                if let plan = try hosts.setPlan(index) {
                    plans[index] = plan
                    continue
                }
                if case .command(let set) = specs[index] { try await Self.checkPrograms(set) }
                let directory = WorkerSetPause.directory(under: stateDirectory, index: index, kind: specs[index].kind)
                plans[index] = try await WorkerSetPause(directory: directory, logger: logger).plan(specs[index])
            } catch {
                throw OperatorError(
                    .supervisor,
                    "\(RunExecution.setName(index, specs[index])) cannot be paused: \(Self.describe(error))"
                )
            }
        }
        return plans
    }

    /// A command set's programs can be started: found on `PATH`, or executable files.
    static func checkPrograms(_ set: CommandSetSpec) async throws {
        for argv in [set.pause, set.resume] + (set.check.map { [$0] } ?? []) {
            let program = argv[0]
            if program.contains("/") ? access(program, X_OK) != 0 : await Self.resolve(program) == nil {
                throw OperatorError(.supervisor, "command not found: \(program)")
            }
        }
    }

    /// The dry run's lines for every set but the first crontab one (printed as before).
    func printSetPlans(_ preflight: Preflight) {
        let primary = settings.primaryCrontabSet
        for (index, spec) in settings.effectiveWorkerSets.enumerated() where index != primary {
            log.say("  \(RunExecution.setName(index, spec)):")
            (preflight.setPlans[index] ?? []).forEach { log.say("    \($0)") }
        }
    }

    /// How an app server is reloaded, for the dry run.
    static func describe(_ strategy: UWSGIReload.Strategy) -> String {
        switch strategy {
        case .fifo(let path): "r to the master FIFO \(path), then wait for the new workers"
        case .pidfile(let path): "SIGHUP to the master of \(path), then wait for the new workers"
        case .gunicornPidfile(let path): "SIGHUP to the gunicorn master of \(path), then wait for the new workers"
        case .command(let arguments, let pidfile):
            "run \(ShellQuoting.command(arguments.map(Redaction.redact)))"
                + (pidfile.map { ", then wait for the new workers of \($0)" } ?? "")
        }
    }
}
