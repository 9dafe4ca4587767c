import FoundationEssentials

/// The lock waits of one poll: who waits on whom, at one moment.
///
/// Built from the server's rows by ``init(observing:takenAt:databaseOID:)``; encoded
/// as the `--json` object that DESIGN.md specifies.
package struct LockSnapshot: Sendable, Equatable {
    /// When the poll ran.
    package var takenAt: Date
    /// Every session waiting on a heavyweight lock, longest wait first.
    package var waits: [LockWait]
    /// Every session that blocks a waiter, root blockers first.
    package var blockers: [Blocker]
    /// When nothing waits, what would make a migration wait (read by `pgwarden locks` only); `nil` when not read.
    package var hazards: LockHazards?

    /// Creates a snapshot.
    package init(takenAt: Date, waits: [LockWait] = [], blockers: [Blocker] = []) {
        self.takenAt = takenAt
        self.waits = waits
        self.blockers = blockers
    }

    /// True when nothing waits.
    package var isEmpty: Bool { waits.isEmpty }

    /// The wait of `pid`, if it waits.
    package func wait(of pid: Int32) -> LockWait? {
        waits.first { $0.pid == pid }
    }

    /// The blocker entry of `pid`, if it blocks someone.
    package func blocker(_ pid: Int32) -> Blocker? {
        blockers.first { $0.pid == pid }
    }

    /// The root blockers: sessions that block others and wait on no one.
    package var roots: [Blocker] { blockers.filter(\.root) }
}

/// A session waiting on a heavyweight lock.
package struct LockWait: Sendable, Equatable {
    /// The waiting backend (a parallel worker's wait is folded into its leader).
    package var pid: Int32
    /// Exactly what `pg_blocking_pids` reports, deduplicated: hard and soft blockers; `0` is a prepared transaction.
    package var blockedBy: [Int32]
    /// Seconds since the wait began (`pg_locks.waitstart`, else the session's `state_change`).
    package var waitingSeconds: Double
    /// Whether ``waitingSeconds`` is measured from `pg_locks.waitstart`.
    package var exactWaitStart: Bool
    /// The lock wanted.
    package var lock: LockTarget
    /// The session, as `pg_stat_activity` shows it.
    package var activity: SessionActivity

    /// Creates a wait.
    package init(
        pid: Int32,
        blockedBy: [Int32],
        waitingSeconds: Double,
        exactWaitStart: Bool,
        lock: LockTarget,
        activity: SessionActivity
    ) {
        self.pid = pid
        self.blockedBy = blockedBy
        self.waitingSeconds = waitingSeconds
        self.exactWaitStart = exactWaitStart
        self.lock = lock
        self.activity = activity
    }
}

/// A session that blocks at least one waiter.
package struct Blocker: Sendable, Equatable {
    /// The blocking backend; `0` for a prepared transaction.
    package var pid: Int32
    /// The waiters it blocks directly.
    package var blocks: [Int32]
    /// Every session it blocks, directly or through other waiters.
    package var blockedTotal: Int
    /// True when it waits on no one itself: resolving it frees its whole tree.
    package var root: Bool
    /// The session, as `pg_stat_activity` shows it; `nil` for a prepared transaction or a session that has gone.
    package var activity: SessionActivity?
    /// For pid `0`: the gids of the prepared transactions that block.
    package var preparedGIDs: [String]
    /// For a root blocker whose statement a progress view covers (read by `pgwarden locks` only): how far it is.
    package var progress: BackendProgress?

    /// Creates a blocker entry.
    package init(
        pid: Int32,
        blocks: [Int32],
        blockedTotal: Int,
        root: Bool,
        activity: SessionActivity?,
        preparedGIDs: [String] = []
    ) {
        self.pid = pid
        self.blocks = blocks
        self.blockedTotal = blockedTotal
        self.root = root
        self.activity = activity
        self.preparedGIDs = preparedGIDs
    }
}

extension LockSnapshot {
    /// The waits of every session blocked by `pid`, directly or through other waiters: the queue behind it.
    package func waits(blockedBy pid: Int32) -> [LockWait] {
        var seen: Set<Int32> = [pid]
        var frontier = blocker(pid)?.blocks ?? []
        var result: [LockWait] = []
        while let next = frontier.popLast() {
            guard seen.insert(next).inserted else { continue }
            if let wait = wait(of: next) { result.append(wait) }
            frontier += blocker(next)?.blocks ?? []
        }
        return result
    }
}
