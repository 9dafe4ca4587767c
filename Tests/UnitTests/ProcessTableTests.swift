import Processes
import Testing
import Workers

/// Which processes `--stop` may touch.
@Suite("Worker process selection")
struct ProcessTableTests {
    static func process(_ pid: Int32, parent: Int32, uid: UInt32 = 1000, _ command: String) -> ProcessEntry {
        ProcessEntry(pid: pid, parentPID: parent, uid: uid, startTime: UInt64(pid), commandLine: command)
    }

    static let table = ProcessTable([
        process(1, parent: 0, uid: 0, "/sbin/init"),
        process(100, parent: 1, uid: 0, "sshd: app"),
        process(200, parent: 100, "bash"),
        process(300, parent: 200, "pgwarden upgrade --pause-workers app-cli -- python app-cli upgrade-database"),  // self
        process(310, parent: 300, "python app-cli upgrade-database"),  // the migration
        process(311, parent: 310, "python app-cli upgrade-database --child"),  // its child
        process(400, parent: 1, "python app-cli process-redis-queue"),  // a worker
        process(401, parent: 400, "python app-cli transform"),  // another
        process(500, parent: 1, uid: 1001, "python app-cli process-redis-queue"),  // someone else's
        process(600, parent: 1, "vim notes-about-app-cli.txt"),  // matches, same user
        process(700, parent: 1, "[kworker]"),
        process(701, parent: 1, ""),
    ])

    @Test("never itself, its ancestors, the excluded migration tree, or another user's processes")
    func selection() throws {
        let workers = try Self.table.workers(
            matching: [try WorkerPattern("python app-cli")],
            uid: 1000,
            selfPID: 300,
            excludedRoots: [310]
        )
        #expect(workers.map(\.pid) == [400, 401])
    }

    @Test("a bare name matches more, as pkill -f would; the safeguards still hold")
    func broadPattern() throws {
        let workers = try Self.table.workers(matching: [try WorkerPattern("app-cli")], uid: 1000, selfPID: 300)
        #expect(workers.map(\.pid) == [400, 401, 600])  // 310 and 311 are in pgwarden's own tree
    }

    @Test("lineage and trees")
    func lineage() {
        #expect(Self.table.lineage(of: 311) == [311, 310, 300, 200, 100, 1, 0])
        #expect(Self.table.trees(rootedAt: [310]) == [310, 311])
    }
}
