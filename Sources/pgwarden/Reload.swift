import ArgumentParser
import Logging
import Reload
import WardenSupport

/// The options that name a uWSGI reload target, shared by `reload` and `upgrade`.
struct ReloadTargetOptions: ParsableArguments {
    @Option(
        name: .customLong("uwsgi-fifo"),
        help: ArgumentHelp("uWSGI's master FIFO: write 'r' to it (default: none).", valueName: "path")
    )
    var fifo: String?

    @Option(
        name: .customLong("uwsgi-pidfile"),
        help: ArgumentHelp("uWSGI's pidfile: SIGHUP its master (default: none).", valueName: "path")
    )
    var pidfile: String?

    @Option(
        name: .customLong("gunicorn-pidfile"),
        help: ArgumentHelp(
            "gunicorn's pidfile (its --pid): SIGHUP its master, done once the new workers serve (default: none).",
            valueName: "path"
        )
    )
    var gunicornPidfile: String?

    @Option(
        name: .customLong("reload-command"),
        help: ArgumentHelp(
            "A command that reloads uWSGI, such as \"service uwsgi reload\" (no shell; default: none).",
            valueName: "command"
        )
    )
    var command: String?

    /// The strategy, or `nil` when no target is given.
    func strategy() throws -> UWSGIReload.Strategy? {
        if let gunicornPidfile {
            guard fifo == nil, pidfile == nil, command == nil else {
                throw ValidationError("--gunicorn-pidfile goes alone: give one app server to reload")
            }
            return .gunicornPidfile(path: gunicornPidfile)
        }
        switch (fifo, pidfile, command) {
        case (nil, nil, nil): return nil
        case (let fifo?, nil, nil): return .fifo(path: fifo)
        case (nil, let pidfile?, nil): return .pidfile(path: pidfile)
        case (nil, let pidfile, let command?):
            guard let words = CommandLineWords.split(command), !words.isEmpty else {
                throw ValidationError("the reload command has an unclosed quote, or is empty")
            }
            return .command(arguments: words, pidfile: pidfile)
        default:
            throw ValidationError(
                "give one of --uwsgi-fifo, --uwsgi-pidfile, --gunicorn-pidfile or --reload-command (a pidfile may go with the command)"
            )
        }
    }
}

extension PGWarden {
    /// `pgwarden reload`: a graceful uWSGI or gunicorn reload that returns when it is done.
    struct ReloadCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reload",
            abstract:
                "Reload uWSGI or gunicorn gracefully; return only when the old workers are gone and new ones serve.",
            discussion: """
                --uwsgi-fifo writes 'r' to the master FIFO; --uwsgi-pidfile sends SIGHUP to the master; --gunicorn-pidfile sends SIGHUP to gunicorn's master and counts a new worker once its heartbeat has beaten (it runs its request loop, the application loaded); --reload-command runs a command (split into words, no shell) such as `service uwsgi reload`, and with --uwsgi-pidfile then waits as for the pidfile. pgwarden watches the master's worker processes and returns when every old worker has exited and new ones run, or fails after --timeout saying what was still running.

                Examples:
                  pgwarden reload --uwsgi-fifo /run/uwsgi/app.fifo
                  pgwarden reload --reload-command "service uwsgi reload" --uwsgi-pidfile /run/uwsgi/app/pid
                  pgwarden reload --gunicorn-pidfile /run/gunicorn/app.pid
                """
        )

        @OptionGroup var target: ReloadTargetOptions

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("Give up waiting after this long (default: 120s).", valueName: "duration"),
            transform: DurationArgument.parser(.positive)
        )
        var timeout = DurationArgument("120s")

        func validate() throws {
            guard try target.strategy() != nil else {
                throw ValidationError(
                    "give one of --uwsgi-fifo, --uwsgi-pidfile, --gunicorn-pidfile or --reload-command"
                )
            }
        }

        func run() async throws {
            guard let strategy = try target.strategy() else { return }
            let reload = UWSGIReload(
                strategy: strategy,
                timeout: timeout.duration,
                logger: Logger(label: "pgwarden.reload")
            )
            let outcome = try await reload.run()
            let seconds = DurationSyntax.format(seconds: outcome.seconds)
            if let master = outcome.master {
                Terminal.printLine(
                    "reloaded \(outcome.kind.rawValue) master \(master.pid) in \(seconds): workers \(outcome.oldWorkers.map(\.pid)) → \(outcome.newWorkers.map(\.pid))"
                )
            } else {
                Terminal.printLine(
                    "the reload command succeeded in \(seconds) (give --uwsgi-pidfile to wait for the new workers)"
                )
            }
        }
    }
}
