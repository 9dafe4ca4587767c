import Processes

extension ProcessTable {
    /// The workers to stop: processes of `uid` whose command line matches a pattern,
    /// never `selfPID` or its ancestors, nor anything in the trees of `excludedRoots`.
    public func workers(
        matching patterns: [WorkerPattern],
        uid: UInt32,
        selfPID: Int32,
        excludedRoots: Set<Int32> = []
    ) -> [ProcessEntry] {
        let protected = lineage(of: selfPID).union(trees(rootedAt: excludedRoots.union([selfPID])))
        return entries.values
            .filter { entry in
                entry.uid == uid && !entry.commandLine.isEmpty && !protected.contains(entry.pid)
                    && patterns.contains { $0.matches(entry.commandLine) }
            }
            .sorted { $0.pid < $1.pid }
    }
}
