import FoundationEssentials

extension LockSnapshot {
    /// Builds the wait forest from the sessions one poll observed.
    ///
    /// Parallel workers' waits fold into their leader; `blocked_by` lists are
    /// deduplicated; `blocks`, `blocked_total` and `root` are derived from them.
    ///
    /// - Parameters:
    ///   - sessions: The rows of `sql/lock_waits.sql`.
    ///   - takenAt: When the poll ran.
    ///   - databaseOID: Keep only the waits of this database; `nil` keeps every database's.
    package init(observing sessions: [ObservedSession], takenAt: Date, databaseOID: UInt32?) {
        let activityByPID = Dictionary(
            sessions.compactMap { session in session.activity.map { (session.pid, $0) } },
            uniquingKeysWith: { first, _ in first }
        )
        let allWaits = Self.waits(from: sessions, activityByPID: activityByPID)
        let waits = allWaits.filter { wait in
            databaseOID == nil || wait.activity.databaseOID == databaseOID
        }
        let waitingPIDs = Set(allWaits.map(\.pid))
        let preparedGIDs = Set(sessions.filter { $0.pid == 0 }.compactMap(\.preparedGID)).sorted()

        var blockedBy: [Int32: [Int32]] = [:]  // blocker → direct waiters
        for wait in waits {
            for blocker in wait.blockedBy { blockedBy[blocker, default: []].append(wait.pid) }
        }
        let blockers = blockedBy.keys.map { pid in
            Blocker(
                pid: pid,
                blocks: blockedBy[pid, default: []].sorted(),
                blockedTotal: Self.transitivelyBlocked(by: pid, directWaiters: blockedBy).count,
                root: !waitingPIDs.contains(pid),
                activity: activityByPID[pid],
                preparedGIDs: pid == 0 ? preparedGIDs : []
            )
        }
        self.init(
            takenAt: takenAt,
            waits: waits.sorted { ($0.waitingSeconds, $1.pid) > ($1.waitingSeconds, $0.pid) },
            blockers: blockers.sorted { lhs, rhs in
                if lhs.root != rhs.root { return lhs.root }
                if lhs.blockedTotal != rhs.blockedTotal { return lhs.blockedTotal > rhs.blockedTotal }
                return lhs.pid < rhs.pid
            }
        )
    }

    private static func waits(
        from sessions: [ObservedSession],
        activityByPID: [Int32: SessionActivity]
    ) -> [LockWait] {
        var waitsByPID: [Int32: LockWait] = [:]
        // A session's own wait first; then parallel workers' waits, under leaders that do not wait themselves.
        let ownFirst = sessions.sorted { ($0.isParallelWorker ? 1 : 0) < ($1.isParallelWorker ? 1 : 0) }
        for session in ownFirst {
            guard let request = session.request else { continue }
            let pid = session.isParallelWorker ? session.leaderPID! : session.pid
            guard waitsByPID[pid] == nil,
                let activity = activityByPID[pid] ?? session.activity
            else { continue }
            waitsByPID[pid] = LockWait(
                pid: pid,
                blockedBy: Array(Set(request.blockedBy).subtracting([pid])).sorted(),
                waitingSeconds: request.waitingSeconds,
                exactWaitStart: request.exactWaitStart,
                lock: request.lock,
                activity: activity
            )
        }
        return Array(waitsByPID.values)
    }

    /// Every session reachable from `pid` through "is blocked by" edges, `pid` excluded.
    private static func transitivelyBlocked(by pid: Int32, directWaiters: [Int32: [Int32]]) -> Set<Int32> {
        var seen: Set<Int32> = []
        var frontier = directWaiters[pid, default: []]
        while let next = frontier.popLast() {
            guard next != pid, seen.insert(next).inserted else { continue }
            frontier.append(contentsOf: directWaiters[next, default: []])
        }
        return seen
    }
}

extension ObservedSession {
    fileprivate var isParallelWorker: Bool {
        leaderPID.map { $0 != pid } ?? false
    }
}
