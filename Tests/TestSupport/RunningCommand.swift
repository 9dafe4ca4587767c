import Foundation
import Synchronization

/// A pgwarden (or another program) left running (a daemon, a supervisor), whose output a test can wait on.
package final class RunningCommand: Sendable {
    private let process: Process
    private let output = OutputBuffer()
    private let error = OutputBuffer()

    /// The process id.
    package var pid: Int32 { process.processIdentifier }

    /// Starts `pgwarden arguments…` (or `executable arguments…`) with `environment` added
    /// (standard input: `/dev/null`).
    package init(
        _ arguments: [String],
        executable: URL = PGWardenCommand.executable,
        environment: [String: String] = [:]
    ) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        let output = self.output
        let error = self.error
        outputPipe.fileHandleForReading.readabilityHandler = { output.append($0.availableData) }
        errorPipe.fileHandleForReading.readabilityHandler = { error.append($0.availableData) }
        try process.run()
    }

    /// Everything written to standard output so far.
    package var standardOutput: String { output.text }
    /// Everything written to standard error so far.
    package var standardError: String { error.text }

    /// Waits until standard error contains `text` (`count` times).
    package func waitForStandardError(_ text: String, count: Int = 1, timeout: Duration = .seconds(60)) async throws {
        try await eventually(
            "pgwarden writes \(text.debugDescription) to stderr (so far: \(standardError))",
            timeout: timeout
        ) {
            self.standardError.components(separatedBy: text).count - 1 >= count
        }
    }

    /// Waits until standard output contains `text`.
    package func waitForStandardOutput(_ text: String, timeout: Duration = .seconds(60)) async throws {
        let name = process.executableURL?.lastPathComponent ?? "it"
        do {
            try await eventually("\(name) writes \(text.debugDescription) to stdout", timeout: timeout) {
                self.standardOutput.contains(text)
            }
        } catch {
            // What it wrote instead, to tell why.
            throw TestSupportError("\(error)\nits stdout:\n\(standardOutput)\nits stderr:\n\(standardError)")
        }
    }

    /// Sends `signal` to the process.
    package func send(_ signal: Int32) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit and returns its status.
    package func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        try await eventually("pgwarden exits", timeout: timeout) { !self.process.isRunning }
        return process.terminationStatus
    }

    /// Ends the process (SIGKILL) if it still runs.
    package func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        kill()
    }
}

/// Bytes a pipe delivered, shared with its reading handler.
final class OutputBuffer: Sendable {
    private let data = Mutex(Data())

    func append(_ chunk: Data) {
        data.withLock { $0 += chunk }
    }

    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}
