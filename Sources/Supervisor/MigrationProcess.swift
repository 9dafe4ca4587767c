import FoundationEssentials
import Processes
import Subprocess
import SystemPackage
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the migration command as a process group of its own, its output passed through the run log.
struct MigrationProcess: Sendable {
    let command: [String]
    let environment: [String: String]
    let log: RunLog

    /// Runs the command to its end; `started` is told the process group id as soon as it runs.
    func run(started: @escaping @Sendable (pid_t) -> Void) async throws(OperatorError) -> Int32 {
        let executable: Executable = command[0].contains("/") ? .path(FilePath(command[0])) : .name(command[0])
        let updates = Dictionary(
            uniqueKeysWithValues: environment.map { (Environment.Key(rawValue: $0.key)!, Optional($0.value)) }
        )
        do {
            let result = try await Subprocess.run(
                executable,
                arguments: Arguments(Array(command.dropFirst())),
                environment: .inherit.updating(updates),
                platformOptions: .ownProcessGroup,  // led by the command: signalled as one
                input: .none,
                output: .sequence,
                error: .sequence
            ) { execution in
                started(execution.processIdentifier.value)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await line in execution.standardOutput.strings() { log.migration(Self.trimmed(line)) }
                    }
                    group.addTask {
                        for try await line in execution.standardError.strings() {
                            log.migrationError(Self.trimmed(line))
                        }
                    }
                    try await group.waitForAll()
                }
            }
            switch result.terminationStatus {
            case .exited(let code): return code
            case .signaled(let signal): return 128 + signal
            }
        } catch {
            if let failure = error as? SubprocessError, failure.code == .executableNotFound {
                throw OperatorError(.supervisor, "command not found: \(command[0])")
            }
            throw OperatorError(.supervisor, "cannot run \(command[0]): \(error)")
        }
    }

    private static func trimmed(_ line: String) -> String {
        line.hasSuffix("\n") ? String(line.dropLast()) : line
    }
}
