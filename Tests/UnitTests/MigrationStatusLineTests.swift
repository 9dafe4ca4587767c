import Foundation
import Policy
import Testing
import WaitGraph
import WardenSupport

@testable import Supervisor

@Suite("The upgrade's status line")
struct MigrationStatusLineTests {
    static let wait = LockWait(
        pid: 2,
        blockedBy: [1],
        waitingSeconds: 12,
        exactWaitStart: true,
        lock: LockTarget(locktype: "relation", mode: "AccessExclusiveLock", relation: "public.orders"),
        activity: SessionActivity(state: "active", applicationName: "pgwarden-migration-x")
    )
    static let blocker = Blocker(
        pid: 1,
        blocks: [2],
        blockedTotal: 3,
        root: true,
        activity: SessionActivity(state: "idle in transaction", xactSeconds: 40, backendStart: "b", xactStart: "x")
    )

    static func line(
        policy: Policy? = nil,
        maxLockWait: Duration? = nil,
        asking: Bool = false,
        interactive: Bool = false
    )
        -> String
    {
        MigrationStatusLine(
            attempt: 1,
            elapsedSeconds: 75,
            wait: wait,
            blockers: [blocker],
            queued: 2,
            queuedOldestSeconds: 9,
            requestTimeout: .seconds(60),
            policy: policy,
            maxLockWait: maxLockWait,
            askingOperator: asking,
            interactive: interactive
        ).text
    }

    @Test("the wait, its blocker, the queue against the request timeout")
    func wait() {
        let lines = Self.line().split(separator: "\n")
        #expect(lines[0] == "attempt 1, 1m15s: waits 12s for AccessExclusiveLock on public.orders")
        #expect(lines[1] == "  blocked by pid 1 idle in transaction | 2 queued behind, oldest 9s/1m00s")
        #expect(lines[2] == "  next: nothing will act: it waits until the blocker ends")
    }

    @Test("what happens next: the soonest of the rule and --max-lock-wait, or the operator")
    func next() {
        let policy = Policy(rules: [
            Rule(name: "idle", blockingFor: .seconds(30), states: ["idle in transaction"], action: .terminate)
        ])
        #expect(Self.line(policy: policy).hasSuffix("next: rule 'idle' will terminate pid 1 in 18s"))
        #expect(
            Self.line(policy: policy, maxLockWait: .seconds(20)).hasSuffix(
                "next: --max-lock-wait cancels the migration in 8s"
            )
        )
        #expect(Self.line(asking: true).hasSuffix("next: waiting for you"))
        // Asked, with a policy: the rule still acts; the line says it comes unless the answer comes first.
        #expect(
            Self.line(policy: policy, asking: true).hasSuffix(
                "next: waiting for you (unless you answer first, rule 'idle' will terminate pid 1 in 18s)"
            )
        )
    }

    @Test("the footer fits the terminal's columns as drawn: a wide character takes two, so no line of it wraps")
    func footerFitsWideCharacters() {
        let wide = "attempt 1: blocked by pid 1, application '" + String(repeating: "月次集計", count: 20) + "'"
        let fitted = RunLog.fitted(wide + "\nnext: nothing will act", columns: 80)
        let lines = fitted.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(
            lines.allSatisfy { DisplayWidth.columns(of: $0) <= 79 },
            "\(lines.map { DisplayWidth.columns(of: $0) })"
        )
        #expect(lines[0].hasPrefix("attempt 1: blocked by pid 1, application '月次集計"))
        #expect(lines[1] == "next: nothing will act")
    }

    @Test("at 80 columns a line is never cut inside a number: `pid 15916` is never shown as `pid 1591`")
    func neverCutInsideANumber() {
        let head = String(repeating: "x", count: 70) + " | pid 15916 idle in transaction 6.3s"
        for columns in 70...90 {
            let line = RunLog.fitted(head, columns: columns)
            #expect(DisplayWidth.columns(of: line) <= columns - 1)
            #expect(!line.contains("pid 1591…") && !line.contains("pid 159…") && !line.contains("pid 15…"), "\(line)")
            #expect(!line.contains("6.…") && !line.contains(" 6…"), "\(line)")
            if line != head {
                #expect(line.hasSuffix("…"), "\(columns): \(line)")
            }
        }
        #expect(RunLog.fitted(head, columns: 82).hasSuffix("| pid …"))
        #expect(DisplayWidth.cut("waits 12.5s", columns: 10) == "waits …")
        #expect(DisplayWidth.cut("short", columns: 10) == "short")
    }

    @Test("a prepared transaction that blocks the migration is named by its gid, not as pid 0")
    func preparedTransaction() {
        let prepared = Blocker(
            pid: 0,
            blocks: [2],
            blockedTotal: 1,
            root: true,
            activity: nil,
            preparedGIDs: ["batch-42"]
        )
        let line = MigrationStatusLine(
            attempt: 1,
            elapsedSeconds: 5,
            wait: Self.wait,
            blockers: [prepared],
            queued: 0,
            queuedOldestSeconds: 0,
            requestTimeout: nil,
            policy: nil,
            maxLockWait: nil,
            askingOperator: false,
            interactive: false
        ).text
        #expect(line.contains("blocked by prepared transaction 'batch-42'"), "\(line)")
        let snapshot = LockSnapshot(takenAt: Date(), waits: [Self.wait], blockers: [prepared])
        #expect(MigrationMonitor.describeBlocker(0, in: snapshot).hasPrefix("prepared transaction 'batch-42' (pid 0"))
    }
}
