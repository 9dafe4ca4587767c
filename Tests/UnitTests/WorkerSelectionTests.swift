import Processes
import Testing
import Workers

/// `--stop-scope cron`: the processes cron started, with their trees and sessions; nothing else of the user's.
@Suite("Worker selection by scope")
struct WorkerSelectionTests {
    static func process(_ pid: Int32, parent: Int32, uid: UInt32 = 1000, _ command: String) -> ProcessEntry {
        ProcessEntry(pid: pid, parentPID: parent, uid: uid, startTime: UInt64(pid), commandLine: command)
    }

    /// cron (10) ran a job in session 20: sh (21) → python (22) → sort (23); a grandchild (24) of python was
    /// re-parented to 1 and keeps session 20. The operator's tail -f (30) matches and is not cron's.
    static let table = ProcessTable([
        process(1, parent: 0, uid: 0, "/sbin/init"),
        process(10, parent: 1, uid: 0, "/usr/sbin/cron -f"),
        process(20, parent: 10, uid: 0, "/usr/sbin/CRON -f"),
        process(21, parent: 20, "/bin/sh -c python app-cli process-queue"),
        process(22, parent: 21, "python app-cli process-queue"),
        process(23, parent: 22, "sort -u"),
        process(24, parent: 1, "sleep 301"),
        process(30, parent: 1, "tail -f /srv/app/log/app-cli.log"),
        process(40, parent: 1, "bash"),
        process(41, parent: 40, "pgwarden workers pause --match app-cli"),
    ])

    static let names: [Int32: String] = [10: "cron", 20: "cron"]
    static let sessions: [Int32: Int32] = [
        1: 1, 10: 10, 20: 20, 21: 20, 22: 20, 23: 20, 24: 20, 30: 30, 40: 40, 41: 40,
    ]

    func select(_ scope: StopScope) throws -> WorkerSelection {
        try Self.table.workerSelection(
            matching: [try WorkerPattern("app-cli")],
            uid: 1000,
            selfPID: 41,
            scope: scope,
            commandName: { Self.names[$0] },
            session: { Self.sessions[$0] }
        )
    }

    @Test("cron scope: the job's tree and session, the re-parented grandchild too; the tail -f left running")
    func cronScope() throws {
        let selection = try select(.cron)
        #expect(selection.toStop.map(\.pid) == [21, 22, 23, 24])
        #expect(selection.notStartedByCron.map(\.pid) == [30])
    }

    @Test("user scope: every matching process of the user, with the cron job's session")
    func userScope() throws {
        let selection = try select(.user)
        #expect(selection.toStop.map(\.pid) == [21, 22, 23, 24, 30])
        #expect(selection.notStartedByCron.isEmpty)
    }

    @Test("never pgwarden or its session, even when its command line matches")
    func neverItself() throws {
        #expect(!(try select(.user)).toStop.contains { $0.pid == 41 || $0.pid == 40 })
    }
}

@Suite("Worker pattern on long command lines")
struct WorkerPatternLengthTests {
    @Test("a command line of 2 MB is searched in its first 64 KiB: a match there is found, nothing gives up")
    func longCommandLine() throws {
        let pattern = try WorkerPattern("app-cli")
        let padding = String(repeating: "x ", count: 1_000_000)
        #expect(try pattern.matches("/bin/sh -c app-cli " + padding))
        #expect(try !pattern.matches("/bin/sh -c " + padding + "app-cli"))
        let lateButInside = String(repeating: "y", count: WorkerPattern.searchedLength - 20) + " app-cli"
        #expect(try pattern.matches(lateButInside))
    }
}
