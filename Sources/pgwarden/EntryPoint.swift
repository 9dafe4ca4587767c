import ArgumentParser
import Logging
import Postgres
import WardenSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses the command line, runs the command, and turns failures into one `error:` line.
///
/// `main` is synchronous on purpose. An async `main` hands the main thread to `dispatch_main`, whose
/// `pthread_exit` loads libgcc_s and unwinds the thread through the binary's unwind tables at every
/// start (about 1 MB resident, BENCHMARKS.md "Footprint"). Here the command runs in a task and the
/// main thread parks itself as `dispatch_main` leaves it: every signal unblocked, in `sigsuspend`
/// (``MainThread``), so that signals behave as before. The task ends the process.
@main
enum EntryPoint {
    static func main() {
        // First of all: a SIGHUP (an SSH drop) or a vanished reader of the output never ends pgwarden
        // mid-way, not even in its first microseconds. Each command then decides what SIGHUP means.
        EarlySignals.install(holding: [SIGHUP])
        let level = Logger.Level(rawValue: Terminal.environment("PGWARDEN_LOG_LEVEL") ?? "") ?? .warning
        LoggingSystem.bootstrap { TerminalLogHandler(label: $0, level: level) }
        Task.detached { exit(await runCommandLine()) }
        MainThread.park()
    }

    /// Runs what the command line asks for, and returns the exit status.
    private static func runCommandLine() async -> Int32 {
        do {
            // `locks --json` and its like, the command a monitoring check runs, without the cost of
            // swift-argument-parser (LocksFastPath).
            if let locks = LocksFastPath.parse(Array(CommandLine.arguments.dropFirst())) {
                try await locks.run()
                return 0
            }
            var command = try PGWarden.parseAsRoot()
            let hangUp = hangUpMonitor(for: command)
            defer { hangUp?.cancel() }
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            return 0
        } catch {
            return report(error)
        }
    }

    /// `locks --watch` piped is a viewer: a hang-up ends it quietly, with status 128+1 as the full-screen
    /// view (which restores the terminal and exits 128+N itself), one answer in both modes.
    /// Everything else goes on through a SIGHUP: `upgrade` and `guard` handle it themselves, and a
    /// one-shot command (a pause, a resume) finishes what it started.
    private static func hangUpMonitor(for command: any ParsableCommand) -> SignalMonitor? {
        guard let locks = command as? PGWarden.Locks, locks.watch, !locks.drawsScreen else { return nil }
        return SignalMonitor([SIGHUP]) { _ in exit(128 + SIGHUP) }
    }

    /// Prints `error:` (and `hint:`) for `error`, and returns the exit status.
    private static func report(_ error: any Error) -> Int32 {
        switch error {
        case let error as any DiagnosableError:
            Terminal.printError(error.summary, hint: error.hint)
            return 1
        case let error as PostgresError:
            let connecting = error.code == .connectionFailed || error.code == .invalidConnectionString
            Terminal.printError(
                connecting ? error.message : error.description,
                hint: connecting ? error.detail : error.hint
            )
            return 1
        default:
            let code = PGWarden.exitCode(for: error)
            if code == .success || error is ExitCode || error is CleanExit {
                PGWarden.exit(withError: error)
            }
            let message =
                PGWarden.message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            Terminal.printError(message, hint: "see 'pgwarden help'")
            return code.rawValue
        }
    }
}
