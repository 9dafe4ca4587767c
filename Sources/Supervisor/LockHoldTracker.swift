import FoundationEssentials
import WaitGraph

/// The migration's own locks that other sessions queue behind, poll by poll: the outage the database sees while the
/// migration holds a lock, whether or not it ever waited itself. Pure: the monitor passes each snapshot and says
/// which sessions are the migration's; the tracker keeps the report's records and says what changed.
///
/// A hold is keyed by the migration's pid and the relation its queue waits for. Only a session of the migration that
/// waits on no one counts (a root blocker): a queue behind a lock the migration itself still waits for is told with
/// that wait.
struct LockHoldTracker: Sendable {
    /// What changed at a poll, by index into ``records``.
    enum Event: Equatable, Sendable {
        /// Sessions began to queue behind a lock of the migration's.
        case began(Int)
        /// More sessions queue behind it than at any poll before.
        case queueGrew(Int)
        /// Nobody queues behind it any more (or the migration released it).
        case ended(Int)
    }

    private(set) var records: [RunReport.LockHoldRecord] = []

    /// Compares `snapshot` with the holds seen so far. `isMigration` tells whether a pid is one of the migration's
    /// sessions.
    mutating func observe(_ snapshot: LockSnapshot, isMigration: (Int32) -> Bool, at now: Date) -> [Event] {
        let seen = Self.holds(in: snapshot, isMigration: isMigration)
        var events: [Event] = []
        for index in records.indices where !records[index].ended {
            let key = records[index].key
            guard let queue = seen[key] else {
                records[index].ended = true
                records[index].to = now
                events.append(.ended(index))
                continue
            }
            records[index].to = now
            records[index].oldestWaitSeconds = max(records[index].oldestWaitSeconds, queue.oldest)
            records[index].queued = queue.count
            records[index].queuedOldestSeconds = queue.oldest
            if queue.count > records[index].queuedMax {
                records[index].queuedMax = queue.count
                events.append(.queueGrew(index))
            }
        }
        let open = Set(records.filter { !$0.ended }.map(\.key))
        for (key, queue) in seen.sorted(by: { ($0.key.pid, $0.key.relation) < ($1.key.pid, $1.key.relation) })
        where !open.contains(key) {
            records.append(
                RunReport.LockHoldRecord(
                    pid: key.pid,
                    relation: key.relation,
                    from: now,
                    to: now,
                    queued: queue.count,
                    queuedMax: queue.count,
                    queuedOldestSeconds: queue.oldest,
                    oldestWaitSeconds: queue.oldest
                )
            )
            events.append(.began(records.count - 1))
        }
        return events
    }

    /// The mode the migration holds, once read from `pg_locks`.
    mutating func setMode(_ mode: String?, of index: Int) {
        records[index].mode = mode
    }

    /// Ends every hold still open (the migration has ended), and returns their events.
    mutating func endAll(at now: Date) -> [Event] {
        var events: [Event] = []
        for index in records.indices where !records[index].ended {
            records[index].ended = true
            records[index].to = now
            events.append(.ended(index))
        }
        return events
    }

    /// The hold still open with the longest queue, for the status line.
    var longestOpen: RunReport.LockHoldRecord? {
        records.filter { !$0.ended }.max { ($0.queued, $0.queuedOldestSeconds) < ($1.queued, $1.queuedOldestSeconds) }
    }

    /// The queues behind each lock a root-blocking session of the migration holds: the sessions it blocks directly,
    /// by the relation they wait for, with everything they block in turn.
    static func holds(
        in snapshot: LockSnapshot,
        isMigration: (Int32) -> Bool
    ) -> [RunReport.LockHoldRecord.Key: (count: Int, oldest: Double)] {
        var result: [RunReport.LockHoldRecord.Key: (count: Int, oldest: Double)] = [:]
        for blocker in snapshot.blockers where blocker.pid != 0 && blocker.root && isMigration(blocker.pid) {
            var queues: [String: Set<Int32>] = [:]
            for waiter in blocker.blocks where !isMigration(waiter) {
                guard let wait = snapshot.wait(of: waiter) else { continue }
                let relation = wait.lock.relation ?? wait.lock.locktype
                queues[relation, default: []].insert(waiter)
                for behind in snapshot.waits(blockedBy: waiter) where !isMigration(behind.pid) {
                    queues[relation, default: []].insert(behind.pid)
                }
            }
            for (relation, pids) in queues {
                let oldest = pids.compactMap { snapshot.wait(of: $0)?.waitingSeconds }.max() ?? 0
                result[RunReport.LockHoldRecord.Key(pid: blocker.pid, relation: relation)] = (pids.count, oldest)
            }
        }
        return result
    }
}
