import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden locks --watch` on a real terminal (tmux, 80×24) against a real pile-up:
/// a reader idle in transaction, an ALTER queued behind it, 40 readers queued behind that.
@Suite(
    "pgwarden locks --watch on a terminal",
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason),
    .enabled(if: TmuxPane.isAvailable, TmuxPane.unavailableReason),
    .serialized
)
struct LockViewTerminalTests {
    struct PileUp {
        let readerPID: Int32
        let alterPID: Int32
        let queued: [Int32]
        let observer: Connection
        let release: () async throws -> Void
    }

    /// The outage, held by real sessions; `release` rolls the reader back and waits for the rest.
    static func pileUp(in database: ScratchDatabase, readers: Int = 40) async throws -> PileUp {
        let (reader, readerPID, observer, alter) = try await database.alterBehindIdleReader("alembic")
        var queued: [(pid: Int32, session: Connection, task: Task<Void, any Error>)] = []
        for index in 0..<readers {
            queued.append(try await database.startBlockedStatement("SELECT count(*) FROM t", "web-\(index)"))
        }
        for statement in queued { try await database.waitUntilWaiting(statement.pid, observer: observer) }
        return PileUp(readerPID: readerPID, alterPID: alter.pid, queued: queued.map(\.pid), observer: observer) {
            _ = try? await reader.query("ROLLBACK")
            _ = try? await alter.task.value
            for statement in queued { _ = try? await statement.task.value }
        }
    }

    static func command(_ database: ScratchDatabase) -> String {
        "\(PGWardenCommand.executable.path) locks --watch --interval 200ms --dsn \(database.connectionString)"
    }

    /// The pids of `pids` that still have a session.
    static func alive(_ pids: [Int32], observer: Connection) async throws -> Set<Int32> {
        let rows = try await observer.query(
            "SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int4[])",
            ["{\(pids.map(String.init).joined(separator: ","))}"]
        ).rows
        return Set(try rows.map { try $0.require(Int32.self, "pid") })
    }

    /// The pid the footer names as selected (`pid N · …` on the third line from the bottom).
    static func selectedPID(_ screen: [String]) -> Int32? {
        screen.prefix(24).dropFirst(21).first.flatMap { line in
            line.hasPrefix("pid ") ? Int32(line.dropFirst(4).prefix { $0.isNumber }) : nil
        }
    }

    @Test(
        "40 waiters on 80x24: header and root blocker stay on screen; t+n terminates nobody, t+y exactly the selected session; q restores the terminal"
    )
    func terminateSelected() async throws {
        try await ScratchDatabase.with { database in
            let pile = try await Self.pileUp(in: database)
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            try pane.run(Self.command(database))
            let first = try await pane.waitForScreen("the view shows the pile-up") { screen in
                screen.first?.contains("41 waiting, 1 root") == true
            }
            #expect(first.count >= 24)
            #expect(first[0].hasPrefix("pgwarden locks · \(database.name)"))
            #expect(first[2].contains(" \(pile.readerPID) ") && first[2].contains("postgres@\(database.name)"))
            #expect(first[2].contains("reader") && first[2].contains("idle in tx"))
            #expect(first[3].contains(" \(pile.alterPID) ") && first[3].contains("alembic"))
            for line in first { #expect(line.count <= 80) }

            // To the end of the tree: the header and the root blocker stay, the ALTER scrolls away.
            try pane.press("End")
            let bottom = try await pane.waitForScreen("the selection reaches the last reader") { screen in
                screen.first?.contains("-41/41") == true && !screen.contains { $0.contains(" \(pile.alterPID) ") }
            }
            #expect(bottom[0].hasPrefix("pgwarden locks"))
            #expect(bottom[2].contains(" \(pile.readerPID) "), "root blocker still on screen: \(bottom[2])")

            // Back up a few: select a queued reader, and answer no.
            try pane.press("Home", "Down", "Down", "j")
            // Home: the root (line 3); Down: the ALTER; Down, j: the second queued reader, on line 6.
            let selectedScreen = try await pane.waitForScreen("the second queued reader is selected") { screen in
                guard screen.count > 21, screen[5].hasPrefix(">"), let pid = Self.selectedPID(screen) else {
                    return false
                }
                return pile.queued.contains(pid) && screen[5].contains(" \(pid) ")
            }
            let selected = try #require(Self.selectedPID(selectedScreen))
            try pane.press("t")
            try await pane.waitForScreen("the question names pid \(selected)") { screen in
                screen.contains("Terminate pid \(selected)? (y/n)")
                    && screen.contains { $0.hasPrefix("pid \(selected) · postgres@\(database.name) · app web-") }
                    && screen.contains { $0.contains("backend start ") }
            }
            try pane.press("Enter")
            try pane.press("x")
            try pane.press("n")
            try await pane.waitForScreen("nothing sent") { $0.contains("nothing sent to pid \(selected)") }
            let everyone = [pile.readerPID, pile.alterPID] + pile.queued
            #expect(try await Self.alive(everyone, observer: pile.observer) == Set(everyone))

            // Now yes: exactly the selected session goes.
            try pane.press("t")
            try await pane.waitForScreen("asked again") { $0.contains("Terminate pid \(selected)? (y/n)") }
            try pane.press("y")
            try await pane.waitForScreen("terminated") { screen in
                screen.contains { $0.hasPrefix("terminated pid \(selected)") }
            }
            #expect(try await Self.alive(everyone, observer: pile.observer) == Set(everyone).subtracting([selected]))

            try pane.press("q")
            let shell = try await pane.waitForScreen("the shell is back") { screen in
                screen.contains { $0.hasPrefix("$ ") && $0.contains("locks --watch") }
                    && screen.last { !$0.isEmpty } == "$"
            }
            #expect(!shell.contains { $0.contains("USER@DB") })
            #expect(try await pane.terminalModes() == ["icanon", "echo", "isig", "icrnl"])
            try await pile.release()
        }
    }

    @Test("SIGTERM, SIGINT and SIGHUP restore the terminal and exit 128+N")
    func signalsRestore() async throws {
        try await ScratchDatabase.with { database in
            let pile = try await Self.pileUp(in: database, readers: 2)
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestCluster.uniqueName("view"))
                .path
            defer { try? FileManager.default.removeItem(atPath: pidFile) }
            for (signal, name) in [(SIGTERM, "TERM"), (SIGINT, "INT"), (SIGHUP, "HUP")] {
                try pane.run("clear; sh -c 'echo $$ > \(pidFile); exec \(Self.command(database))'; echo exit=$?")
                try await pane.waitForScreen("the view is up (\(name))") { screen in
                    screen.first?.contains("3 waiting, 1 root") == true
                }
                let pid = try #require(
                    Int32(
                        try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(
                            in: .whitespacesAndNewlines
                        )
                    )
                )
                kill(pid, signal)
                let after = try await pane.waitForScreen("exit=\(128 + signal) after SIG\(name)") { screen in
                    screen.contains("exit=\(128 + signal)")
                }
                #expect(!after.contains { $0.contains("USER@DB") }, "the view's screen is gone after SIG\(name)")
                let modes = try await pane.terminalModes()
                #expect(modes.isSuperset(of: ["icanon", "echo"]), "line editing and echo are back after SIG\(name)")
            }
            try await pile.release()
        }
    }

    @Test("its session terminated under it, the view says so, connects again and goes on showing the waits")
    func reconnects() async throws {
        try await ScratchDatabase.with { database in
            let pile = try await Self.pileUp(in: database, readers: 1)
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            try await Self.startView(Self.command(database), in: pane)
            let sessions = try await pile.observer.query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgwarden' AND datname = $1",
                [database.name]
            ).rows.map { try $0.require(Int32.self, "pid") }
            #expect(sessions.count == 1, "the view's one session: \(sessions)")
            for pid in sessions {
                _ = try await pile.observer.query("SELECT pg_terminate_backend($1::int4, 3000)", [pid])
            }
            let another = try await database.startBlockedStatement("SELECT count(*) FROM t", "web-late")
            try await database.waitUntilWaiting(another.pid, observer: pile.observer)
            try await pane.waitForScreen("the view shows the new waiter, on a new session") { screen in
                screen.first?.contains("3 waiting, 1 root") == true && !screen.contains { $0.contains("poll failed") }
            }
            try pane.press("q")
            try await pile.release()
            _ = try? await another.task.value
        }
    }

    @Test("a resize (SIGWINCH) redraws at the new size; q then leaves the alternate screen with the terminal sane")
    func resize() async throws {
        try await ScratchDatabase.with { database in
            let pile = try await Self.pileUp(in: database, readers: 30)
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            try pane.run(Self.command(database))
            try await pane.waitForScreen("the view is up") { $0.first?.contains("31 waiting, 1 root") == true }
            try pane.tmux(["resize-window", "-t", "test", "-x", "100", "-y", "30"])
            let resized = try await pane.waitForScreen("the view redraws at 100x30") { screen in
                screen.count >= 30 && screen[2].contains(" \(pile.readerPID) ") && screen[29].hasPrefix("↑↓ select")
            }
            #expect(resized.prefix(30).allSatisfy { $0.count <= 100 })
            #expect(resized.prefix(30).contains { $0.count > 80 }, "rows use the wider screen")
            #expect(resized[0].contains("1-24/31"), "24 lines of the tree below the root: \(resized[0])")
            try pane.press("q")
            try await eventually("the alternate screen is left") {
                try pane.tmux(["display-message", "-p", "-t", "test", "#{alternate_on}"]) == "0\n"
            }
            // Not checked here: the shell's screen after a resize. tmux reflows lines of an alternate screen
            // into the normal one when a pane is resized while a program redraws (a plain sh loop redrawing
            // with printf does the same), so what is left there is tmux's doing, not the view's.
            #expect(
                try await pane.terminalModes().isSuperset(of: ["icanon", "echo"]),
                "line editing and echo are back"
            )
            try await pile.release()
        }
    }
}
