import FoundationEssentials
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// A migration tool (Alembic, Django's manage.py) run for what it prints: without a shell, in its own process
/// group, standard input closed, pgwarden's environment with `environment` on top.
enum ToolCommand {
    struct Output {
        let status: TerminationStatus
        let standardOutput: String
        let standardError: String
    }

    /// Runs `executable` (a path, or a name looked up on PATH) with `arguments`.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> Output {
        let run = try await Subprocess.run(
            executable.contains("/") ? .path(FilePath(executable)) : .name(executable),
            arguments: Arguments(arguments),
            environment: .inherit.updating(
                Dictionary(
                    uniqueKeysWithValues: environment.compactMap { key, value in
                        Environment.Key(rawValue: key).map { ($0, Optional(value)) }
                    }
                )
            ),
            platformOptions: .ownProcessGroup,
            input: .none,
            output: .string(limit: 16 << 20),
            error: .string(limit: 1 << 20)
        )
        return Output(
            status: run.terminationStatus,
            standardOutput: run.standardOutput,
            standardError: run.standardError
        )
    }
}
