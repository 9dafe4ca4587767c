import FoundationEssentials
import Logging
import Processes
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `recover --stop-migration`: a migration still running after its supervisor died is stopped (its
/// process group, checked by pid and start time first), then what is left of the run: processes
/// carrying its `PGAPPNAME`, and its sessions.
struct MigrationStop: Sendable {
    let journal: RunJournal
    let connectionString: String?
    let logger: Logger

    /// How long the migration's process group has after SIGTERM before SIGKILL.
    static let grace = Duration.seconds(10)

    /// ` --state-dir DIR`, for the hints.
    var stateDirectoryOption: String {
        journal.stateDirectory.map { " --state-dir \(ShellQuoting.quote($0))" } ?? ""
    }

    /// Whether the migration of the journal still runs (its pid with its start time).
    var migrationIsRunning: Bool {
        guard let pid = journal.migrationPID, let startTime = journal.migrationStartTime else { return false }
        return ProcessIdentity(pid: pid, startTime: startTime).isRunning
    }

    /// What recover says of the migration, having stopped it when `stop` asks and it still runs.
    func recover(pid: Int32, stop: Bool) async -> [String] {
        guard ProcFileSystem.entry(for: pid) != nil else { return ["the migration (pid \(pid)) is no longer running"] }
        guard let startTime = journal.migrationStartTime else {
            return [
                "warning: pid \(pid) runs, but the journal has no start time to tell whether it is still the migration: left alone"
            ]
        }
        let identity = ProcessIdentity(pid: pid, startTime: startTime)
        guard identity.isRunning else {
            return ["the migration (pid \(pid)) is no longer running (pid \(pid) is now another process: left alone)"]
        }
        guard stop else {
            return [
                "warning: the migration (pid \(pid)) is still running: pgwarden no longer watches it",
                "hint: pgwarden recover --stop-migration\(stateDirectoryOption) stops it and terminates its sessions",
            ]
        }
        var lines = [await stopGroup(identity)]
        let leftovers = await RunLeftovers(
            applicationName: "pgwarden-migration-\(journal.runID)",
            connectionString: connectionString,
            logger: logger
        ).settle(grace: .zero)
        lines += leftovers.stoppedProcesses.map { "stopped a process of the run: \($0)" }
        lines += leftovers.terminatedSessions.map { "terminated a session of the run: \($0)" }
        if !leftovers.remaining.isEmpty {
            lines.append("warning: sessions of the run are still there: pids \(leftovers.remaining)")
        }
        leftovers.checkFailed.map { lines.append("warning: \($0)") }
        return lines
    }

    /// SIGTERM to the migration's process group; SIGKILL after the grace if any of it is left.
    private func stopGroup(_ identity: ProcessIdentity) async -> String {
        switch await ProcessStopper.stop([.group(identity)], grace: Self.grace)[.group(identity)] {
        case .killed?:
            return "stopped the migration (pid \(identity.pid)): SIGKILL to its process group after \(Self.grace)"
        case .notSignalled(let reason)?:
            return "warning: the migration (pid \(identity.pid)) could not be signalled: \(reason)"
        default:
            return "stopped the migration (pid \(identity.pid)): its process group exited after SIGTERM"
        }
    }
}
