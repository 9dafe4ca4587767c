import Subprocess
import WardenSupport

/// Reads and installs a user's crontab through the real `crontab` command, never the spool.
public struct Crontab: Sendable {
    /// The user whose crontab this is.
    public let user: String
    /// The `crontab` program.
    public var executable: String = "crontab"
    /// The largest crontab pgwarden reads.
    public static let sizeLimit = 4 << 20

    /// Creates access to `user`'s crontab.
    public init(user: String) {
        self.user = user
    }

    /// The crontab's text, byte for byte; empty when the user has none.
    public func read() async throws(WorkersError) -> String {
        let result: ExecutionRecord
        do {
            let run = try await Subprocess.run(
                .name(executable),
                arguments: ["-u", user, "-l"],
                output: .bytes(limit: Self.sizeLimit),
                error: .string(limit: 64 << 10)
            )
            result = ExecutionRecord(
                status: run.terminationStatus,
                output: run.standardOutput,
                error: run.standardError
            )
        } catch {
            throw WorkersError(.crontabFailed, "cannot run \(executable) -u \(user) -l: \(error)")
        }
        if case .exited(0) = result.status {
            return String(decoding: result.output, as: UTF8.self)
        }
        if result.error.hasPrefix("no crontab for") { return "" }
        throw WorkersError(.crontabFailed, "\(executable) -u \(user) -l failed: \(result.errorLine)")
    }

    /// Installs `text` as the crontab (`crontab -u USER -`).
    ///
    /// - Throws: ``WorkersError`` `crontabFailed` with `crontab`'s own reason when it rejects the text.
    public func install(_ text: String) async throws(WorkersError) {
        let result: ExecutionRecord
        do {
            let run = try await Subprocess.run(
                .name(executable),
                arguments: ["-u", user, "-"],
                input: .array(Array(text.utf8)),
                output: .discarded,
                error: .string(limit: 64 << 10)
            )
            result = ExecutionRecord(status: run.terminationStatus, output: [], error: run.standardError)
        } catch {
            throw WorkersError(.crontabFailed, "cannot run \(executable) -u \(user) -: \(error)")
        }
        guard case .exited(0) = result.status else {
            throw WorkersError(.crontabFailed, "crontab rejected the new crontab of \(user): \(result.errorLine)")
        }
    }
}

private struct ExecutionRecord {
    let status: TerminationStatus
    let output: [UInt8]
    let error: String

    init(status: TerminationStatus, output: [UInt8], error: String?) {
        self.status = status
        self.output = output
        self.error = error ?? ""
    }

    /// `crontab`'s complaint on one line.
    var errorLine: String {
        let lines = error.split(whereSeparator: \.isNewline).map { $0.trimmedOfWhitespace }.filter { !$0.isEmpty }
        return lines.isEmpty ? "\(status)" : lines.joined(separator: "; ")
    }
}
