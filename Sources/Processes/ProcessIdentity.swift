import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Which process: its pid and its start time (pids are reused; the pair is not). The one notion of
/// "this is still the process we started or found" for workers, the migration and `recover`.
package struct ProcessIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Its pid.
    package let pid: Int32
    /// When it started, in clock ticks since boot.
    package let startTime: UInt64

    /// Creates an identity.
    package init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The identity of the process `pid` as it runs now, if it does.
    package static func current(_ pid: Int32) -> ProcessIdentity? {
        ProcFileSystem.entry(for: pid).map(\.identity)
    }

    /// Whether this very process still runs (same pid, same start time, not a zombie).
    package var isRunning: Bool {
        guard let found = ProcFileSystem.stateAndStart(of: pid) else { return false }
        return found.state != "Z" && found.startTime == startTime
    }

    /// Whether any process of the group this process leads still runs. A group's id is never given to a
    /// new process while the group has members, so this holds even after the leader itself has gone.
    package var groupIsRunning: Bool {
        kill(-pid, 0) == 0 || errno == EPERM
    }

    /// Sends `signal` to this process, only if it is still this process. Returns whether it was sent.
    @discardableResult
    package func send(_ signal: Int32) -> Bool {
        isRunning && kill(pid, signal) == 0
    }

    /// Sends `signal` to the process group this process leads, only if it is still this process.
    @discardableResult
    package func sendToGroup(_ signal: Int32) -> Bool {
        isRunning && kill(-pid, signal) == 0
    }

    package var description: String { "pid \(pid)" }
}

extension ProcessEntry {
    /// Its pid and start time.
    package var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime) }
}

extension ProcFileSystem {
    /// Whether the environment of `pid` holds `variable=value` exactly (root reads any process's).
    package static func environment(of pid: Int32, contains variable: String, _ value: String) -> Bool {
        guard let data = contents(of: "/proc/\(pid)/environ") else { return false }
        let wanted = Array("\(variable)=\(value)".utf8)
        return data.split(separator: 0).contains { $0.elementsEqual(wanted) }
    }

    /// The process group and session of `pid`.
    package static func groupAndSession(of pid: Int32) -> (group: Int32, session: Int32)? {
        guard let stat = contents(of: "/proc/\(pid)/stat"),
            let text = String(data: stat, encoding: .utf8), let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let group = Int32(fields[2]), let session = Int32(fields[3]) else { return nil }
        return (group, session)
    }
}
