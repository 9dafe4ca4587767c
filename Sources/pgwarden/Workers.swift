import ArgumentParser
import FoundationEssentials
import Logging
import WardenSupport
import Workers

extension PGWarden {
    /// `pgwarden workers`: pause and resume cron-driven workers.
    struct WorkersCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "workers",
            abstract: "Pause and resume cron-driven workers without ever losing a crontab line.",
            subcommands: [Pause.self, Resume.self, Status.self, SetCommand.self]
        )
    }
}

/// The option every `workers` subcommand shares.
struct StateDirectoryOptions: ParsableArguments {
    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp(
            stateDirectoryHelp,
            valueName: "dir"
        )
    )
    var path: String?

    var directory: StateDirectory { StateDirectory(path: path) }

    /// Sets a deployment file's run paused live in `sets/`, and only `recover` resumes them (it first checks that
    /// the run's migration is not still going): `workers resume` and `workers status` name them and exit 3 rather
    /// than let "nothing is paused" stand.
    func failIfSetsPaused() throws {
        let names = try WorkerSetPause.pausedSetNames(under: directory)
        guard !names.isEmpty else { return }
        let sets = Plural.count(names.count, "worker set", "worker sets")
        Terminal.printWarning(
            "\(sets) of a deployment file's run \(names.count == 1 ? "is" : "are") still paused here (sets/\(names.joined(separator: ", sets/"))); `workers resume` does not resume \(names.count == 1 ? "it" : "them")",
            hint: "pgwarden recover" + (path.map { " --state-dir \(ShellQuoting.quote($0))" } ?? "")
        )
        throw ExitCode(ExitStatus.needsRecovery)
    }
}

extension StopMode: ExpressibleByArgument {}
extension StopScope: ExpressibleByArgument {}

extension PGWarden.WorkersCommand {
    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Comment out the matching crontab lines, then stop the matching running workers.",
            discussion: """
                Each job line of USER's crontab whose command matches a --match regular expression is commented out with a marker that names this pause; every other byte is left as it was. The crontab is read and written with `crontab -u USER`, never in the spool, and the state is journaled (fsynced) before it changes, so `resume` works after any crash. A --match that matches no job line is an error, and nothing changes.

                --stop term sends SIGTERM to the running workers, then SIGKILL after --grace; --stop drain first lets them finish for --grace. The workers are the processes cron started whose command line matches (descendants of the cron daemon), with their whole process tree and session, so that a forked child re-parented to pid 1 is stopped too; other matching processes of the user (an operator's `tail -f app-cli.log`) are listed as "matching, not started by cron: left running". --stop-scope user stops every matching process of the user instead. Each process is checked by pid and start time before every signal; pgwarden never signals itself or its ancestors.

                Examples:
                  pgwarden workers pause --user app --match 'app-cli (process|transform)'
                  pgwarden workers pause --user app --match app-cli --stop drain --grace 5m
                """
        )

        @Option(
            name: .customLong("match"),
            help: ArgumentHelp(
                "Regular expression matched against each job's command (repeatable; at least one is required).",
                valueName: "regex"
            )
        )
        var patterns: [String] = []

        @Option(help: ArgumentHelp("Whose crontab (default: the current user).", valueName: "user"))
        var user: String?

        @Option(help: "What to do with matching workers that are running: none, term or drain (default: none).")
        var stop: StopMode = .none

        @Option(
            name: .customLong("stop-scope"),
            help:
                "Which processes --stop acts on: cron (those cron started, with their process trees and sessions) or user (every matching process of the user)."
        )
        var stopScope: StopScope = .cron

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "How long --stop term or drain waits before the next step (default: 30s).",
                valueName: "duration"
            ),
            transform: DurationArgument.parser(.positive)
        )
        var grace = DurationArgument("30s")

        @OptionGroup var state: StateDirectoryOptions

        func validate() throws {
            guard !patterns.isEmpty else { throw ValidationError("give at least one --match") }
            guard grace.duration >= .zero else { throw ValidationError("--grace must not be negative") }
        }

        func run() async throws {
            let compiled = try patterns.map(WorkerPattern.init)
            let user = try self.user ?? UserAccount.current().name
            let pause = WorkerPause(stateDirectory: state.directory, logger: Logger(label: "pgwarden.workers"))
            let outcome = try await pause.pause(
                user: user,
                patterns: compiled,
                stop: stop,
                scope: stopScope,
                grace: grace.duration
            )
            let record = outcome.record
            Terminal.printLine(
                "paused \(record.pausedLines.count) crontab line\(record.pausedLines.count == 1 ? "" : "s") of \(user) (pause \(record.pauseID)):"
            )
            for line in record.pausedLines {
                Terminal.printLine("  line \(line.number): \(Redaction.redact(line.line))")
            }
            if outcome.stopped.isEmpty {
                Terminal.printLine("no matching worker started by cron is running")
            }
            for worker in outcome.stopped {
                let seconds = DurationSyntax.format(seconds: worker.seconds)
                let after = worker.outcome == .leftRunning ? "" : " (\(seconds))"
                Terminal.printLine(
                    "  pid \(worker.process.pid) \(worker.outcome.description)\(after): \(Redaction.redact(worker.process.commandLine))"
                )
            }
            for process in outcome.notStartedByCron {
                Terminal.printLine(
                    "  pid \(process.pid) matching, not started by cron: left running: \(Redaction.redact(process.commandLine))"
                )
            }
            Terminal.printLine(
                "journal: \(state.directory.path)/\(PauseRecord.fileName); resume with: pgwarden workers resume"
                    + (state.path.map { " --state-dir \($0)" } ?? "")
            )
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Uncomment exactly the lines the pause commented, keeping every other edit.",
            discussion: """
                Lines that someone re-enabled meanwhile (a configuration-management run, say) are reported and not duplicated; lines someone removed are reported and not brought back. Safe to run again, and after a crash of the pause.

                Example:
                  pgwarden workers resume --state-dir /var/lib/pgwarden
                """
        )

        @OptionGroup var state: StateDirectoryOptions

        func run() async throws {
            let pause = WorkerPause(stateDirectory: state.directory, logger: Logger(label: "pgwarden.workers"))
            var failures: [String] = []
            switch try await pause.resume() {
            case .nothingPaused:
                Terminal.printLine("nothing is paused (state directory \(state.directory.path))")
            case .neverInstalled(let record, let repaired):
                repaired.map { Terminal.printWarning($0.description) }
                Terminal.printLine(
                    "pause \(record.pauseID) was interrupted before it changed the crontab of \(record.user): nothing to restore"
                )
            case .resumed(let resumed):
                let (record, lines, exactly) = (resumed.record, resumed.lines, resumed.restoredExactly)
                resumed.repaired.map { Terminal.printWarning($0.description) }
                defer { failures = resumed.writeFailures }
                let restored = lines.filter { $0.state == .paused }.count
                Terminal.printLine(
                    "resumed \(restored) crontab line\(restored == 1 ? "" : "s") of \(record.user) (pause \(record.pauseID), paused \(DurationSyntax.format(seconds: Date().timeIntervalSince(record.pausedAt))) ago)"
                )
                for report in lines {
                    let line = Redaction.redact(report.line.line)
                    switch report.state {
                    case .paused: Terminal.printLine("  restored: \(line)")
                    case .reEnabled:
                        Terminal.printWarning(
                            "someone else re-enabled this line while it was paused; left as it is: \(line)"
                        )
                    case .removed:
                        Terminal.printWarning(
                            "someone else removed this line while it was paused; not restored: \(line)"
                        )
                    }
                }
                if exactly { Terminal.printLine("the crontab is byte for byte what it was before the pause") }
            }
            if let first = failures.first {
                failures.dropFirst().forEach { Terminal.printError($0) }
                throw WorkersError(
                    .stateDirectory,
                    first,
                    hint: "the crontab is restored; the journal is not up to date"
                )
            }
            try state.failIfSetsPaused()
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show what is paused, since when, and whether someone re-enabled it."
        )

        @OptionGroup var state: StateDirectoryOptions

        func run() async throws {
            try await show()
            try state.failIfSetsPaused()
        }

        private func show() async throws {
            let pause = WorkerPause(stateDirectory: state.directory, logger: Logger(label: "pgwarden.workers"))
            let status = try await pause.status()
            guard let record = status.current else {
                if let last = status.last, let resumedAt = last.resumedAt {
                    Terminal.printLine(
                        "nothing is paused; the last pause (\(last.pauseID), \(Plural.count(last.pausedLines.count, "line", "lines")) of \(last.user)) was resumed at \(LockTimestamp.format(resumedAt))"
                    )
                } else {
                    Terminal.printLine("nothing is paused")
                }
                return
            }
            let age = DurationSyntax.format(seconds: Date().timeIntervalSince(record.pausedAt))
            Terminal.printLine(
                "\(record.phase == .paused ? "paused" : record.phase.rawValue) since \(LockTimestamp.format(record.pausedAt)) (\(age)): pause \(record.pauseID) of \(record.user)'s crontab, by \(record.owner), --match \(record.patterns.joined(separator: " --match "))"
            )
            for report in status.lines {
                Terminal.printLine(
                    "  \(report.state.rawValue.paddedTo(10))  \(Redaction.redact(report.line.line))"
                )
            }
            let drifted = status.lines.filter { $0.state != .paused }
            if !drifted.isEmpty {
                Terminal.printWarning(
                    "\(drifted.count) paused line\(drifted.count == 1 ? " was" : "s were") re-enabled or removed by someone else (a configuration-management run?)"
                )
            }
        }
    }
}

/// ISO 8601 timestamps for people and logs.
enum LockTimestamp {
    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
    }
}

extension String {
    /// The text cut or filled with spaces to `width` characters, as `NSString.padding` did.
    fileprivate func paddedTo(_ width: Int) -> String {
        String((self + String(repeating: " ", count: max(0, width - count))).prefix(width))
    }
}
