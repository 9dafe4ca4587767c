/// One process, as `/proc` shows it.
package struct ProcessEntry: Sendable, Equatable {
    /// Its pid.
    package let pid: Int32
    /// Its parent's pid.
    package let parentPID: Int32
    /// Its real user id.
    package let uid: UInt32
    /// When it started, in clock ticks since boot: with the pid, its identity (pids are reused).
    package let startTime: UInt64
    /// Its arguments joined by spaces, as `ps -o args` shows them.
    package let commandLine: String

    /// Creates an entry.
    package init(pid: Int32, parentPID: Int32, uid: UInt32, startTime: UInt64, commandLine: String) {
        self.pid = pid
        self.parentPID = parentPID
        self.uid = uid
        self.startTime = startTime
        self.commandLine = commandLine
    }
}

/// The processes of the machine at one moment.
package struct ProcessTable: Sendable {
    /// Every process, by pid.
    package let entries: [Int32: ProcessEntry]

    /// Creates a table.
    package init(_ entries: [ProcessEntry]) {
        self.entries = Dictionary(entries.map { ($0.pid, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// `pid` and its ancestors up to init.
    package func lineage(of pid: Int32) -> Set<Int32> {
        var result: Set<Int32> = []
        var current: Int32? = pid
        while let pid = current, result.insert(pid).inserted {
            current = entries[pid]?.parentPID
        }
        return result
    }

    /// Every process whose lineage includes one of `roots`: those processes and all their descendants.
    package func trees(rootedAt roots: Set<Int32>) -> Set<Int32> {
        guard !roots.isEmpty else { return [] }
        return Set(entries.keys.filter { !lineage(of: $0).isDisjoint(with: roots) })
    }

    /// The children of `pid`.
    package func children(of pid: Int32) -> [ProcessEntry] {
        entries.values.filter { $0.parentPID == pid }.sorted { $0.pid < $1.pid }
    }
}
