import Processes

extension ProcessTable {
    /// The workers to stop: processes of `uid` whose command line matches a pattern,
    /// never `selfPID` or its ancestors, nor anything in the trees of `excludedRoots`.
    ///
    /// - Throws: ``WorkersError`` when a pattern's search gave up on a command line.
    package func workers(
        matching patterns: [WorkerPattern],
        uid: UInt32,
        selfPID: Int32,
        excludedRoots: Set<Int32> = []
    ) throws(WorkersError) -> [ProcessEntry] {
        let protected = lineage(of: selfPID).union(trees(rootedAt: excludedRoots.union([selfPID])))
        var workers: [ProcessEntry] = []
        for entry in entries.values
        where entry.uid == uid && !entry.commandLine.isEmpty && !protected.contains(entry.pid) {
            for pattern in patterns where try pattern.matches(entry.commandLine) {
                workers.append(entry)
                break
            }
        }
        return workers.sorted { $0.pid < $1.pid }
    }
}
