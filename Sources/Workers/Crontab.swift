import FoundationEssentials
import Logging
import Processes
import Subprocess
import SystemPackage
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Reads and installs a user's crontab through the real `crontab` command, never the spool.
///
/// A crontab is bytes: cron does not care whether they are UTF-8, and neither does pgwarden.
/// A new crontab is written whole to a 0600 file in the state directory, fsynced, and only then
/// handed to `crontab -u USER FILE`: the installer never reads a text that is still being written,
/// so an interruption at any moment leaves the old crontab or the new one, never part of one.
package struct Crontab: Sendable {
    /// The user whose crontab this is.
    package let user: String
    /// The `crontab` program.
    package var executable: String = "crontab"
    /// The largest crontab pgwarden reads.
    package static let sizeLimit = 4 << 20

    /// Creates access to `user`'s crontab.
    package init(user: String) {
        self.user = user
    }

    /// The name of the file a new crontab of `user` is staged in, in the state directory.
    package static func stagingName(for user: String) -> String {
        "crontab-\(user).new"
    }

    /// The crontab's bytes, as `crontab -l` gives them (carriage returns as the spool holds them:
    /// see ``CrontabListing``); empty when the user has none.
    package func read() async throws(WorkersError) -> [UInt8] {
        let result: ExecutionRecord
        do {
            let run = try await Subprocess.run(
                .name(executable),
                arguments: ["-u", user, "-l"],
                platformOptions: .ownProcessGroup,
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
        if case .exited(0) = result.status { return CrontabListing.exactBytes(listing: result.output, user: user) }
        if result.error.hasPrefix("no crontab for") { return [] }
        throw WorkersError(.crontabFailed, "\(executable) -u \(user) -l failed: \(result.errorLine)")
    }

    /// Installs `bytes` as the crontab: staged whole in `directory` (0600, fsynced), then
    /// `crontab -u USER FILE`; the staged file is removed afterwards.
    ///
    /// - Throws: ``WorkersError`` `crontabFailed` with `crontab`'s own reason when it rejects the text,
    ///   `stateDirectory` when the text cannot be staged (then `crontab` is not run).
    ///
    /// `crontab`'s standard input is the file of `lock` (`crontab` does not read it): the lock of the
    /// user's crontab is thus held until `crontab` has finished, even when pgwarden dies meanwhile,
    /// so that no resume reads the crontab while an orphaned install is still writing it.
    ///
    /// A `crontab` ended by a signal may have installed the text before it died: then the crontab
    /// reads back as `bytes`, and that is an install (said on `logger`), not a failure.
    package func install(
        _ bytes: [UInt8],
        stagingIn directory: StateDirectory,
        holding lock: CrontabUserLock? = nil,
        logger: Logger? = nil
    ) async throws(WorkersError) {
        let name = Self.stagingName(for: user)
        let staging = try stage(bytes, as: name, in: directory)
        let nullDevice = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { if nullDevice >= 0 { close(nullDevice) } }
        defer { try? staging.remove(name) }
        let result: ExecutionRecord
        do {
            let run = try await Subprocess.run(
                .name(executable),
                arguments: ["-u", user, staging.path + "/" + name],
                platformOptions: .ownProcessGroup,
                input: .fileDescriptor(
                    FileDescriptor(rawValue: lock?.descriptor ?? nullDevice),
                    closeAfterSpawningProcess: false
                ),
                output: .discarded,
                error: .string(limit: 64 << 10)
            )
            result = ExecutionRecord(status: run.terminationStatus, output: [], error: run.standardError)
        } catch {
            throw WorkersError(.crontabFailed, "cannot run \(executable) -u \(user) FILE: \(error)")
        }
        switch result.status {
        case .exited(0):
            return
        case .signaled(let number):
            let ended = "crontab was ended by signal \(number) installing the crontab of \(user)"
            let readBack: [UInt8]
            do {
                readBack = try await read()
            } catch {
                throw WorkersError(.crontabFailed, "\(ended), and the crontab cannot be read back: \(error.summary)")
            }
            guard readBack == bytes else {
                throw WorkersError(.crontabFailed, "\(ended); the crontab does not hold the new text")
            }
            logger?.warning(
                "crontab was ended by signal \(number) after it installed the new crontab, which reads back whole",
                metadata: ["user": "\(user)"]
            )
        case .exited:
            throw WorkersError(.crontabFailed, "crontab rejected the new crontab of \(user): \(result.errorLine)")
        }
    }
}

extension Crontab {
    /// Writes the new crontab whole in `directory`; when that fails (a full disk), in the directory of
    /// the crontab locks instead (`/run/pgwarden`, another file system), so that the workers can still
    /// be restored. Returns where it is.
    /// The longest path of a file `crontab` is given, plus one (Debian's MAX_FNAME).
    static let longestPath = 100

    private func stage(_ bytes: [UInt8], as name: String, in directory: StateDirectory) throws(WorkersError)
        -> StateDirectory
    {
        let fallback = StateDirectory(path: CrontabUserLock.directory)
        do throws(StateDirectoryError) {
            // Debian's crontab copies the file's path into a buffer of 100 bytes (MAX_FNAME) and cuts a longer one
            // ("No such file or directory"): such a state directory (a deep temporary one) stages in the fallback.
            guard (directory.path + "/" + name).utf8.count < Self.longestPath else {
                throw StateDirectoryError("the path is longer than crontab reads")
            }
            try directory.write(Data(bytes), to: name)
            return directory
        } catch {
            do {
                try fallback.prepare()
                try fallback.write(Data(bytes), to: name)
                return fallback
            } catch let second {
                throw WorkersError(
                    .stateDirectory,
                    "cannot stage the new crontab of \(user): \(error.summary); \(second.summary)"
                )
            }
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
