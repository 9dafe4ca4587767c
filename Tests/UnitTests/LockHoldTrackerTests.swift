import Foundation
import Testing
import WaitGraph

@testable import Supervisor

/// The queues behind the migration's own locks: formed, grown, ended; never a queue behind a lock it still waits for.
@Suite("The migration's lock holds")
struct LockHoldTrackerTests {
    static let migration: Int32 = 10
    static let start = Date(timeIntervalSince1970: 1_000)

    static func reader(
        _ pid: Int32,
        waiting seconds: Double,
        behind blocker: Int32,
        on relation: String = "public.orders"
    )
        -> LockWait
    {
        LockWait(
            pid: pid,
            blockedBy: [blocker],
            waitingSeconds: seconds,
            exactWaitStart: true,
            lock: LockTarget(locktype: "relation", mode: "AccessShareLock", relation: relation),
            activity: SessionActivity(state: "active", applicationName: "web")
        )
    }

    /// The migration (pid 10) blocks `waits`; `root`: it waits on no one.
    static func snapshot(_ waits: [LockWait], root: Bool = true) -> LockSnapshot {
        let direct = waits.filter { $0.blockedBy.contains(migration) }.map(\.pid)
        var blockers = [Blocker(pid: migration, blocks: direct, blockedTotal: waits.count, root: root, activity: nil)]
        for wait in waits where !wait.blockedBy.contains(migration) {
            for pid in wait.blockedBy where !blockers.contains(where: { $0.pid == pid }) {
                blockers.append(Blocker(pid: pid, blocks: [wait.pid], blockedTotal: 1, root: false, activity: nil))
            }
        }
        return LockSnapshot(takenAt: start, waits: waits, blockers: blockers)
    }

    static func isMigration(_ pid: Int32) -> Bool { pid == migration }

    @Test("a queue forms, grows and ends: one record, its maximum, its oldest wait and its span")
    func lifecycle() {
        var tracker = LockHoldTracker()
        let first = tracker.observe(
            Self.snapshot([Self.reader(1, waiting: 0.2, behind: 10)]),
            isMigration: Self.isMigration,
            at: Self.start
        )
        #expect(first == [.began(0)])
        tracker.setMode("AccessExclusiveLock", of: 0)
        // A second reader queues behind the first (a chain): both count for the migration's hold.
        let second = tracker.observe(
            Self.snapshot([Self.reader(1, waiting: 1.2, behind: 10), Self.reader(2, waiting: 0.5, behind: 1)]),
            isMigration: Self.isMigration,
            at: Self.start + 1
        )
        #expect(second == [.queueGrew(0)])
        let steady = tracker.observe(
            Self.snapshot([Self.reader(1, waiting: 2.2, behind: 10)]),
            isMigration: Self.isMigration,
            at: Self.start + 2
        )
        #expect(steady.isEmpty)
        let ended = tracker.observe(Self.snapshot([]), isMigration: Self.isMigration, at: Self.start + 3)
        #expect(ended == [.ended(0)])
        let record = tracker.records[0]
        #expect(record.relation == "public.orders" && record.mode == "AccessExclusiveLock")
        #expect(record.queuedMax == 2 && record.oldestWaitSeconds == 2.2)
        #expect(record.to.timeIntervalSince(record.from) == 3 && record.ended)
        #expect(tracker.longestOpen == nil)
    }

    @Test("a migration that itself waits: the queue behind its pending request is not a hold")
    func waitingIsNotHolding() {
        var tracker = LockHoldTracker()
        let events = tracker.observe(
            Self.snapshot([Self.reader(1, waiting: 1, behind: 10)], root: false),
            isMigration: Self.isMigration,
            at: Self.start
        )
        #expect(events.isEmpty && tracker.records.isEmpty)
    }

    @Test("two relations, two holds; a session of the migration's own in the queue is not counted")
    func relations() {
        var tracker = LockHoldTracker()
        let events = tracker.observe(
            Self.snapshot([
                Self.reader(1, waiting: 1, behind: 10, on: "public.orders"),
                Self.reader(2, waiting: 3, behind: 10, on: "public.customers"),
            ]),
            isMigration: { $0 == Self.migration || $0 == 2 },
            at: Self.start
        )
        #expect(events == [.began(0)])
        #expect(tracker.records.map(\.relation) == ["public.orders"])
        #expect(tracker.longestOpen?.queued == 1)
        #expect(tracker.endAll(at: Self.start + 5) == [.ended(0)])
        #expect(tracker.records.allSatisfy(\.ended) && tracker.records[0].to == Self.start + 5)
    }

    @Test("the status line while the migration holds a lock others queue behind")
    func statusLine() {
        let hold = RunReport.LockHoldRecord(
            pid: 10,
            relation: "public.orders",
            mode: "AccessExclusiveLock",
            from: Self.start,
            to: Self.start + 3,
            queued: 4,
            queuedMax: 4,
            queuedOldestSeconds: 2.5,
            oldestWaitSeconds: 2.5
        )
        let text = MigrationStatusLine(
            attempt: 1,
            elapsedSeconds: 8,
            wait: nil,
            blockers: [],
            hold: hold,
            queued: hold.queued,
            queuedOldestSeconds: hold.queuedOldestSeconds,
            requestTimeout: .seconds(30),
            policy: nil,
            maxLockWait: nil,
            askingOperator: false,
            interactive: false
        ).text
        let lines = text.split(separator: "\n")
        #expect(lines[0] == "attempt 1, 8s: holds AccessExclusiveLock on public.orders, blocking others for 3s")
        #expect(lines[1] == "  4 queued behind, oldest 2.5s/30s")
    }
}
