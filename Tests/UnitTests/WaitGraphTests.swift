import Foundation
import Testing
import WaitGraph

/// The wait forest built from observed rows, without a server.
@Suite("Wait graph")
struct WaitGraphTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func session(
        _ pid: Int32,
        waitsOn blockers: [Int32]? = nil,
        seconds: Double = 1,
        state: String = "active",
        database: UInt32 = 5,
        leader: Int32? = nil,
        lock: LockTarget = LockTarget(locktype: "relation", mode: "AccessExclusiveLock", relation: "public.t")
    ) -> ObservedSession {
        ObservedSession(
            pid: pid,
            leaderPID: leader,
            request: blockers.map { LockRequest(blockedBy: $0, waitingSeconds: seconds, lock: lock) },
            activity: SessionActivity(
                databaseOID: database,
                state: state,
                xactSeconds: 30,
                stateSeconds: 29,
                usename: "app",
                datname: "appdb",
                applicationName: "psql",
                backendType: "client backend",
                query: "SELECT * FROM t"
            )
        )
    }

    @Test("a chain: root, blocks and blocked_total")
    func chain() {
        // 456 idle in transaction ← 123 ALTER ← 789 SELECT (a soft block behind the queued ALTER)
        let snapshot = LockSnapshot(
            observing: [
                Self.session(456, state: "idle in transaction"),
                Self.session(123, waitsOn: [456], seconds: 2),
                Self.session(789, waitsOn: [123], seconds: 1),
            ],
            takenAt: Self.now,
            databaseOID: 5
        )
        #expect(snapshot.waits.map(\.pid) == [123, 789])
        let root = try! #require(snapshot.blocker(456))
        #expect(root.root && root.blocks == [123] && root.blockedTotal == 2)
        let middle = try! #require(snapshot.blocker(123))
        #expect(!middle.root && middle.blocks == [789] && middle.blockedTotal == 1)
        #expect(snapshot.roots.map(\.pid) == [456])
        #expect(snapshot.blocker(789) == nil)
    }

    @Test("one waiter, two blockers; duplicates and self-references removed")
    func twoBlockers() {
        let snapshot = LockSnapshot(
            observing: [Self.session(1), Self.session(2), Self.session(3, waitsOn: [2, 1, 2, 3])],
            takenAt: Self.now,
            databaseOID: nil
        )
        #expect(snapshot.wait(of: 3)?.blockedBy == [1, 2])
        #expect(snapshot.roots.map(\.pid) == [1, 2])
        #expect(snapshot.blockers.allSatisfy { $0.blocks == [3] && $0.blockedTotal == 1 })
    }

    @Test("blocked_total counts each session once through a diamond")
    func diamond() {
        // 1 blocks 2 and 3; both block 4; 4 blocks 5.
        let snapshot = LockSnapshot(
            observing: [
                Self.session(1), Self.session(2, waitsOn: [1]), Self.session(3, waitsOn: [1]),
                Self.session(4, waitsOn: [2, 3]), Self.session(5, waitsOn: [4]),
            ],
            takenAt: Self.now,
            databaseOID: nil
        )
        #expect(snapshot.blocker(1)?.blockedTotal == 4)
        #expect(snapshot.blocker(4)?.blockedTotal == 1)
    }

    @Test("a deadlock cycle has no root, and terminates")
    func cycle() {
        let snapshot = LockSnapshot(
            observing: [Self.session(1, waitsOn: [2]), Self.session(2, waitsOn: [1])],
            takenAt: Self.now,
            databaseOID: nil
        )
        #expect(snapshot.roots.isEmpty)
        #expect(snapshot.blocker(1)?.blockedTotal == 1)
        let text = LockForestRenderer().render(snapshot, scope: "appdb")
        #expect(text.contains("in a cycle"))
    }

    @Test("a parallel worker's wait folds into its leader")
    func parallelWorker() {
        var leader = Self.session(10)
        leader.activity?.query = "SELECT count(*) FROM big"
        let snapshot = LockSnapshot(
            observing: [leader, Self.session(11, waitsOn: [20], leader: 10), Self.session(20)],
            takenAt: Self.now,
            databaseOID: nil
        )
        #expect(snapshot.waits.map(\.pid) == [10])
        #expect(snapshot.wait(of: 10)?.activity.query == "SELECT count(*) FROM big")
        #expect(snapshot.blocker(20)?.blocks == [10])
    }

    @Test("waits of other databases are left out unless every database is asked for")
    func databaseScope() {
        let sessions = [
            Self.session(1, database: 5), Self.session(2, waitsOn: [1], database: 5),
            Self.session(3, database: 6), Self.session(4, waitsOn: [3], database: 6),
        ]
        let scoped = LockSnapshot(observing: sessions, takenAt: Self.now, databaseOID: 5)
        #expect(scoped.waits.map(\.pid) == [2])
        #expect(scoped.blockers.map(\.pid) == [1])
        let all = LockSnapshot(observing: sessions, takenAt: Self.now, databaseOID: nil)
        #expect(Set(all.waits.map(\.pid)) == [2, 4])
    }

    @Test("a prepared transaction blocks as pid 0, with its gid")
    func preparedTransaction() {
        let snapshot = LockSnapshot(
            observing: [
                Self.session(7, waitsOn: [0]),
                ObservedSession(pid: 0, preparedGID: "deploy-42", preparedWaiter: 7),
            ],
            takenAt: Self.now,
            databaseOID: nil
        )
        let blocker = try! #require(snapshot.blocker(0))
        #expect(blocker.preparedGIDs == ["deploy-42"] && blocker.root && blocker.activity == nil)
        #expect(LockForestRenderer().render(snapshot, scope: "x").contains("prepared transaction 'deploy-42'"))
        #expect(blocker.json.serialized().hasSuffix(#""query":null,"progress":null,"prepared_gid":"deploy-42"}"#))
    }

    @Test("a waiter that vanished between the queries is dropped")
    func vanishedWaiter() {
        var gone = Self.session(2, waitsOn: [1])
        gone.activity = nil
        let snapshot = LockSnapshot(observing: [Self.session(1), gone], takenAt: Self.now, databaseOID: nil)
        #expect(snapshot.isEmpty && snapshot.blockers.isEmpty)
    }

    @Test("JSON has DESIGN.md's fields, in its order")
    func jsonShape() {
        let snapshot = LockSnapshot(
            observing: [
                Self.session(456, state: "idle in transaction"), Self.session(123, waitsOn: [456], seconds: 1.5),
            ],
            takenAt: Self.now,
            databaseOID: nil
        )
        let text = snapshot.json.serialized()
        #expect(text.hasPrefix(#"{"taken_at":"2027-01-15T08:00:00.000Z","waits":[{"pid":123,"blocked_by":[456],"#))
        #expect(
            text.contains(
                #""waiting_seconds":1.5,"wait_event_type":null,"wait_event":null,"lock":{"locktype":"relation","mode":"AccessExclusiveLock","relation":"public.t"},"state":"active""#
            )
        )
        #expect(
            text.contains(
                #""blockers":[{"pid":456,"blocks":[123],"blocked_total":1,"root":true,"state":"idle in transaction","xact_seconds":30,"state_seconds":29,"usename":"app","datname":"appdb","application_name":"psql","backend_type":"client backend","query":"SELECT * FROM t","progress":null}]"#
            )
        )
    }

    @Test("the tree nests waiters under their blockers, and says when nothing waits")
    func rendering() {
        let renderer = LockForestRenderer()
        #expect(
            renderer.render(LockSnapshot(takenAt: Self.now), scope: "appdb")
                == "No session is waiting on a lock in appdb."
        )
        let snapshot = LockSnapshot(
            observing: [
                Self.session(456, state: "idle in transaction"),
                Self.session(123, waitsOn: [456], seconds: 2),
                Self.session(789, waitsOn: [123], seconds: 1),
            ],
            takenAt: Self.now,
            databaseOID: nil
        )
        let lines = renderer.render(snapshot, scope: "appdb").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "2 sessions wait on locks in appdb; 1 root blocker.")
        #expect(
            lines[2].hasPrefix(
                "pid 456 · idle in transaction 29s · xact 30s · blocks 2 (1 directly) · app@appdb · psql"
            )
        )
        #expect(lines[4].hasPrefix("└─ pid 123 · waits 2s for AccessExclusiveLock on relation public.t"))
        #expect(lines[6].hasPrefix("   └─ pid 789 · waits 1s"))
        #expect(renderer.summaryLine(snapshot).contains("2 waiting; root pid 456"))
    }
}
