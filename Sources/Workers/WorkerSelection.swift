import FoundationEssentials
import Processes
import WardenSupport

/// Which running processes `--stop` acts on.
package enum StopScope: String, Sendable, CaseIterable, Codable {
    /// The processes cron started for the paused lines (descendants of the cron daemon whose command
    /// line matches), with their whole tree, process group and session: a forked child that was
    /// re-parented to pid 1 keeps its session. Other matching processes of the user are left running.
    case cron
    /// Every process of the user whose command line matches (the old behaviour, opted into with
    /// `--stop-scope user`); each is still signalled by pid, its start time checked first.
    case user
}

/// The processes a pause stops, and the matching ones it leaves alone.
package struct WorkerSelection: Sendable {
    /// What is stopped: the workers and everything that belongs to them.
    package let toStop: [ProcessEntry]
    /// Matching processes of the user that cron did not start: left running (an operator's `tail -f`).
    package let notStartedByCron: [ProcessEntry]
}

extension ProcessTable {
    /// The command names of the cron daemon and of its per-job children.
    static let cronNames: Set<String> = ["cron", "crond", "CRON"]

    /// Selects the workers to stop for `scope`: see ``StopScope``.
    ///
    /// - Throws: ``WorkersError`` when a pattern's search gave up on a command line.
    package func workerSelection(
        matching patterns: [WorkerPattern],
        uid: UInt32,
        selfPID: Int32,
        excludedRoots: Set<Int32> = [],
        scope: StopScope,
        commandName: (Int32) -> String? = ProcFileSystem.commandName(of:),
        session: (Int32) -> Int32? = { ProcFileSystem.groupAndSession(of: $0)?.session }
    ) throws(WorkersError) -> WorkerSelection {
        let matching = try workers(matching: patterns, uid: uid, selfPID: selfPID, excludedRoots: excludedRoots)
        let protected = lineage(of: selfPID).union(trees(rootedAt: excludedRoots.union([selfPID])))
        let cron = Set(
            entries.values.filter { $0.uid == 0 && commandName($0.pid).map(Self.cronNames.contains) == true }.map(\.pid)
        )
        let underCron = trees(rootedAt: cron).subtracting(cron)
        let started = scope == .user ? matching : matching.filter { underCron.contains($0.pid) }
        let roots = Set(started.map(\.pid))
        // Their sessions (cron's per-job child leads the job's), unless one is the cron daemon's own (a job that
        // cron did not give a session of its own) or pgwarden's.
        let daemons = cron.filter { entries[$0].map { !cron.contains($0.parentPID) } ?? true }
        let excludedSessions = Set(daemons.union(protected).compactMap(session))
        let sessions = Set(roots.compactMap(session)).subtracting(excludedSessions)
        var members = trees(rootedAt: roots)
        for entry in entries.values where entry.uid == uid {
            if let id = session(entry.pid), sessions.contains(id) { members.insert(entry.pid) }
        }
        let toStop = members.subtracting(protected).compactMap { entries[$0] }.filter { !$0.commandLine.isEmpty }
        let stopped = Set(toStop.map(\.pid))
        return WorkerSelection(
            toStop: toStop.sorted { $0.pid < $1.pid },
            notStartedByCron: matching.filter { !stopped.contains($0.pid) }
        )
    }
}

extension ProcFileSystem {
    /// The command name of `pid` (`/proc/PID/comm`).
    package static func commandName(of pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmed(\.isNewline)
    }
}
