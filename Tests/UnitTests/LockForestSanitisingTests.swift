import Foundation
import Testing
import WaitGraph
import WardenSupport

/// The forest's text shows other people's control characters visibly, in every line and field.
@Suite("Lock forest: hostile text")
struct LockForestSanitisingTests {
    static func session(_ pid: Int32, waitsOn blockers: [Int32]? = nil) -> ObservedSession {
        ObservedSession(
            pid: pid,
            leaderPID: nil,
            request: blockers.map {
                LockRequest(
                    blockedBy: $0,
                    waitingSeconds: 1,
                    lock: LockTarget(
                        locktype: "relation",
                        mode: "AccessExclusiveLock",
                        relation: "public.\"t\u{1B}[2J\""
                    )
                )
            },
            activity: SessionActivity(
                databaseOID: 5,
                state: "idle in transaction\u{9B}",
                xactSeconds: 30,
                stateSeconds: 29,
                usename: "pgw\u{1B}]0;pwned\u{07}",
                datname: "db\u{7F}",
                applicationName: "app\u{1B}]52;c;cHduZWQ=\u{07}",
                backendType: "client backend",
                query: "SELECT 1 /* \u{1B}[31m\u{85}x */"
            )
        )
    }

    @Test("tree and summary line: no control character but pgwarden's own colours")
    func noControlCharacters() {
        let snapshot = LockSnapshot(
            observing: [Self.session(456), Self.session(123, waitsOn: [456])],
            takenAt: Date(timeIntervalSince1970: 1_800_000_000),
            databaseOID: 5
        )
        var renderer = LockForestRenderer(width: 400)
        let tree = renderer.render(snapshot, scope: "db\u{1B}[2J")
        #expect(tree.split(separator: "\n").allSatisfy { TerminalText.isSafe(String($0)) }, "\(tree.debugDescription)")
        #expect(tree.contains("pgw\\e]0;pwned\\x07@db\\x7f"))
        #expect(tree.contains("relation public.\"t\\e[2J\""))
        #expect(tree.contains("idle in transaction\\u{9b}"))
        #expect(tree.contains("SELECT 1 /* \\e[31m x */"))
        #expect(tree.hasPrefix("1 session waits on locks in db\\e[2J;"))
        #expect(TerminalText.isSafe(renderer.summaryLine(snapshot)))
        renderer.colour = true
        let coloured = renderer.render(snapshot, scope: "db")
        let stripped = ["\u{1B}[1;31m", "\u{1B}[0m", "\u{1B}[33m"].reduce(coloured) {
            $0.replacingOccurrences(of: $1, with: "")
        }
        #expect(stripped.split(separator: "\n").allSatisfy { TerminalText.isSafe(String($0)) })
    }

    @Test("lines are cut to the terminal's columns as drawn: a wide character takes two")
    func cutsWideCharactersByColumns() {
        var blocker = Self.session(456)
        blocker.activity?.query = "SELECT * FROM 受注 WHERE " + String(repeating: "状態 = '保留' AND ", count: 8) + "true"
        let snapshot = LockSnapshot(
            observing: [blocker, Self.session(123, waitsOn: [456])],
            takenAt: Date(timeIntervalSince1970: 1_800_000_000),
            databaseOID: 5
        )
        let renderer = LockForestRenderer(width: 80)
        let lines = renderer.render(snapshot, scope: "db").split(separator: "\n").map(String.init)
        #expect(
            lines.allSatisfy { DisplayWidth.columns(of: $0) <= 80 },
            "\(lines.map { DisplayWidth.columns(of: $0) })"
        )
        #expect(lines.contains { $0.contains("受注 WHERE 状態") && $0.hasSuffix("…") }, "\(lines)")
    }

    @Test("in ASCII (LC_ALL=C) the cut lines fit too: the ellipsis is three dots there")
    func cutsAsciiLinesByColumns() {
        var blocker = Self.session(456)
        blocker.activity?.query =
            "SELECT * FROM orders WHERE " + String(repeating: "status = 'held' AND ", count: 20) + "true"
        let snapshot = LockSnapshot(
            observing: [blocker, Self.session(123, waitsOn: [456])],
            takenAt: Date(timeIntervalSince1970: 1_800_000_000),
            databaseOID: 5
        )
        var renderer = LockForestRenderer(width: 40)
        renderer.ascii = true
        let lines = renderer.render(snapshot, scope: "db").split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.count <= 40 && $0.allSatisfy(\.isASCII) }, "\(lines)")
        #expect(lines.contains { $0.count == 40 && $0.hasSuffix("...") }, "\(lines)")
    }
}
