import FoundationEssentials
import Processes
import Subprocess
import Synchronization
import SystemPackage
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Runs an argv (never through a shell) as a process group of its own, within a timeout: past it the group
/// gets SIGTERM, then SIGKILL 2 s later. Its output (standard output and error, interleaved by line) is kept,
/// at most ``outputLimit`` lines from its start and ``tailLimit`` from its end, for the run log, which sanitises it.
package struct BoundedCommand: Sendable {
    package let argv: [String]
    package let timeout: Duration
    /// The most output lines kept from the start (the rest counted).
    package static let outputLimit = 200
    /// The most output lines kept from the end besides: a remote step's answer is its last line.
    package static let tailLimit = 20

    package init(_ argv: [String], timeout: Duration) {
        self.argv = argv
        self.timeout = timeout
    }

    /// What came of a run.
    package struct Result: Sendable {
        /// The exit status, or 128+N when ended by signal N.
        package var status: Int32
        package var output: [String]
        /// Whether the timeout ended it.
        package var timedOut: Bool
        /// The signal that ended it, if one did: an exit status above 128 (ssh's 255) is not a signal.
        package var signal: Int32? = nil
        package var succeeded: Bool { status == 0 && !timedOut }

        /// `exit status N`, `timed out after 60s`, `ended by signal N`.
        package var description: String {
            if timedOut { return "timed out" }
            return signal.map { "ended by signal \($0)" } ?? "exit status \(status)"
        }
    }

    /// Runs the command to its end or the timeout. Throws only when it cannot be started.
    package func run() async throws(WorkersError) -> Result {
        guard let program = argv.first, !program.isEmpty else { throw WorkersError(.commandFailed, "an empty command") }
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        let collected = Collected()
        let timeout = self.timeout
        do {
            let outcome = try await Subprocess.run(
                executable,
                arguments: Arguments(Array(argv.dropFirst())),
                platformOptions: .ownProcessGroup,
                input: .none,
                output: .sequence,
                error: .sequence
            ) { execution in
                let group = execution.processIdentifier.value
                let timer = Task {
                    try await Task.sleep(for: timeout)
                    collected.timedOut.withLock { $0 = true }
                    kill(-group, SIGTERM)
                    try await Task.sleep(for: .seconds(2))
                    kill(-group, SIGKILL)
                }
                defer { timer.cancel() }
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        for try await line in execution.standardOutput.strings() { collected.keep(line) }
                    }
                    tasks.addTask {
                        for try await line in execution.standardError.strings() { collected.keep(line) }
                    }
                    try await tasks.waitForAll()
                }
            }
            let (status, signal): (Int32, Int32?) =
                switch outcome.terminationStatus {
                case .exited(let code): (code, nil)
                case .signaled(let signal): (128 + signal, signal)
                }
            return Result(
                status: status,
                output: collected.output(),
                timedOut: collected.timedOut.withLock { $0 },
                signal: signal
            )
        } catch {
            if let failure = error as? SubprocessError, failure.code == .executableNotFound {
                throw WorkersError(.commandFailed, "command not found: \(program)")
            }
            throw WorkersError(.commandFailed, "cannot run \(program): \(error)")
        }
    }

    /// The output and whether the timeout struck, shared with the readers and the timer.
    private final class Collected: Sendable {
        /// The first lines, the last ones, and how many between were left out.
        let kept = Mutex<(head: [String], tail: [String], leftOut: Int)>(([], [], 0))
        let timedOut = Mutex(false)

        func keep(_ line: String) {
            let trimmed = line.hasSuffix("\n") ? String(line.dropLast()) : line
            kept.withLock { kept in
                guard kept.head.count >= BoundedCommand.outputLimit else { return kept.head.append(trimmed) }
                kept.tail.append(trimmed)
                if kept.tail.count > BoundedCommand.tailLimit {
                    kept.tail.removeFirst()
                    kept.leftOut += 1
                }
            }
        }

        /// The lines kept, a line saying how many were left out between the first and the last.
        func output() -> [String] {
            kept.withLock { kept in
                kept.head + (kept.leftOut > 0 ? ["(\(kept.leftOut) lines of output left out)"] : []) + kept.tail
            }
        }
    }
}

extension OperatorError.Code {
    /// A worker set's command (a `command` set's, `supervisorctl`) failed or could not be run.
    package static let commandFailed = Self("commandFailed")
    /// A worker set cannot be paused as asked (a supervisor program that does not exist, say).
    package static let workerSet = Self("workerSet")
}
