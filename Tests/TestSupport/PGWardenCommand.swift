import Foundation

/// Runs the built `pgwarden` binary, as an operator would.
package enum PGWardenCommand {
    /// What a run printed and how it ended.
    package struct Output: Sendable {
        package let status: Int32
        package let standardOutput: String
        package let standardError: String
    }

    /// The binary: `PGWARDEN_BIN`, else beside the test bundle in the build folder.
    package static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["PGWARDEN_BIN"] {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("pgwarden")
    }

    /// Runs `pgwarden arguments…` to completion with stdin closed (on a thread of its own).
    package static func run(
        _ arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> Output {
        try await onDedicatedThread { try runBlocking(arguments, environment: environment) }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String]) throws -> Output {
        let result = try TestCrontab.run(executable.path, arguments, environment: environment)
        return Output(status: result.status, standardOutput: result.output, standardError: result.error)
    }
}

extension PGWardenCommand {
    /// Starts `pgwarden arguments…` with the fail point `name` armed, and returns once
    /// pgwarden reports that it has reached it (and is waiting there to be killed).
    package static func startUntilFailPoint(_ name: String, _ arguments: [String]) async throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["PGWARDEN_FAILPOINT": name]) { $1 }
        let error = Pipe()
        process.standardError = error
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let expected = "failpoint \(name) reached"
        let (reached, said) = try await onDedicatedThread {
            var received = Data()
            while true {
                let chunk = error.fileHandleForReading.availableData
                if chunk.isEmpty { return (false, String(decoding: received, as: UTF8.self)) }
                received += chunk
                if String(decoding: received, as: UTF8.self).contains(expected) { return (true, "") }
            }
        }
        guard reached else {
            process.waitUntilExit()
            throw TestSupportError("pgwarden exited (\(process.terminationStatus)) before \(expected): \(said)")
        }
        return process
    }

    /// Sends SIGKILL to `process` (by its pid) and reaps it.
    package static func killHard(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
