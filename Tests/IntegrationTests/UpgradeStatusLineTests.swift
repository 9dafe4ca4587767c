import Foundation
import Postgres
import TestSupport
import Testing

extension UpgradeTests {
    @Test(
        "on a terminal (tmux, 80x24): the status line ticks, names the blocker and what happens next; never in a pipe",
        .enabled(if: TmuxPane.isAvailable, TmuxPane.unavailableReason)
    )
    func statusLine() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders", "monthly-report")
            let readerPID = await reader.backendPID
            let arguments =
                fixture.arguments(["--policy", try fixture.policy(after: "6s"), "--request-timeout", "60s"])
                + fixture.migration
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            try pane.run(([PGWardenCommand.executable.path] + arguments).map { "'\($0)'" }.joined(separator: " "))
            let first = try await pane.waitForScreen("the status line names the blocker") { screen in
                screen.contains {
                    $0.hasPrefix("[status] attempt 1, ") && $0.contains("AccessExclusiveLock on public.orders")
                }
                    && screen.contains { $0.hasPrefix("  blocked by pid \(readerPID) idle in transaction") }
                    && screen.contains {
                        $0.hasPrefix("  next: rule 'idle transactions blocking the migration' will terminate")
                    }
            }
            #expect(first.allSatisfy { $0.count <= 80 })
            let elapsed = { (screen: [String]) in screen.first { $0.hasPrefix("[status] attempt 1, ") } }
            let before = elapsed(first)
            try await pane.waitForScreen("the status line ticks") { elapsed($0) != before && elapsed($0) != nil }
            try await pane.waitForScreen("the run ends") { $0.contains { $0.contains("succeeded in") } }
            let end = try pane.screen()
            #expect(!end.contains { $0.hasPrefix("[status]") }, "\(end)")  // taken away at the end
            let log = try String(
                contentsOfFile: try #require(
                    FileManager.default.contentsOfDirectory(atPath: fixture.stateDirectory).first {
                        $0.hasSuffix(".log")
                    }
                    .map { fixture.stateDirectory + "/" + $0 }
                ),
                encoding: .utf8
            )
            #expect(!log.contains("[status]"))  // the run log and pipes never get it
        }
    }

    @Test(
        "on a terminal (tmux): a migration building an index under AccessExclusiveLock, a reader queued: the status line shows the held lock, the queue and the progress against the forecast",
        .enabled(if: TmuxPane.isAvailable, TmuxPane.unavailableReason)
    )
    func statusLineHold() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            try await Self.fillBig(database)
            let file = try Self.migrationFile(
                "BEGIN;\nLOCK TABLE big IN ACCESS EXCLUSIVE MODE;\nCREATE INDEX big_pad_n ON big (md5(pad), pad, n);\nCOMMIT;\n"
            )
            defer { try? FileManager.default.removeItem(atPath: file) }
            let arguments =
                fixture.arguments(["--request-timeout", "30s", "--forecast-sql", file])
                + [
                    "--", Self.psqlPath, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "dbname=\(database.name)", "-f",
                    file,
                ]
            let pane = try await TmuxPane.start(columns: 200, rows: 50)
            defer { pane.close() }
            try pane.run(([PGWardenCommand.executable.path] + arguments).map { "'\($0)'" }.joined(separator: " "))
            let observer = try await database.session("observer")
            try await Self.waitUntilHeld("AccessExclusiveLock", by: observer)
            let reader = try await database.startBlockedStatement("SELECT count(*) FROM big", "web")
            let screen = try await pane.waitForScreen(
                "the status line shows the hold, the queue and the progress",
                timeout: .seconds(90)
            ) { screen in
                screen.contains {
                    $0.hasPrefix("[status] attempt 1, ")
                        && $0.contains(": holds AccessExclusiveLock on public.big, blocking others for ")
                }
                    && screen.contains {
                        $0.hasPrefix("  1 queued behind, oldest ") && $0.contains("/30s | CREATE INDEX, building index")
                            && $0.contains(" forecast")
                    }
            }
            // `running 2s of ~4.5 s forecast, ~2.5 s left` (or `past the high estimate`).
            let queue = try #require(screen.first { $0.hasPrefix("  1 queued behind, oldest ") })
            #expect(queue.contains(" s left") || queue.contains("past the high estimate"), "\(queue)")
            try await pane.waitForScreen("the run ends", timeout: .seconds(120)) {
                $0.contains { $0.contains("succeeded in") }
            }
            try await reader.task.value
            #expect(!(try pane.screen()).contains { $0.hasPrefix("[status]") })
            await reader.session.close()
            await observer.close()
        }
    }

    @Test(
        "on a terminal, a line the operator types while the migration runs, with no question open, reaches the shell afterwards",
        .enabled(if: TmuxPane.isAvailable, TmuxPane.unavailableReason)
    )
    func lineTypedDuringRun() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let proceed = NSTemporaryDirectory() + "pgwarden-proceed-" + UUID().uuidString
            // Interactive (the default on a terminal): a question would read keys, none is asked here.
            let arguments =
                fixture.arguments().filter { $0 != "--no-interactive" } + [
                    "--", "/bin/sh", "-c", "until [ -e \"$1\" ]; do sleep 0.05; done", "sh", proceed,
                ]
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            try pane.run(([PGWardenCommand.executable.path] + arguments).map { "'\($0)'" }.joined(separator: " "))
            try await pane.waitForScreen("the migration runs") { $0.contains { $0.contains("attempt 1 starts") } }
            let marker = "typed-during-run-" + UUID().uuidString.prefix(8).lowercased()
            try pane.run("echo \(marker)")
            // (the status line is drawn around it)
            try await pane.waitForScreen("the line is echoed as typed") {
                $0.contains { $0.contains("echo \(marker)") }
            }
            FileManager.default.createFile(atPath: proceed, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: proceed) }
            try await pane.waitForScreen("the run ends") { $0.contains { $0.contains("succeeded in") } }
            // Only the shell's run of the line prints the marker without "echo" before it.
            try await pane.waitForScreen("the shell runs the line") { screen in
                screen.contains { $0.hasSuffix(marker) && !$0.contains("echo") }
            }
        }
    }

    @Test(
        "on a terminal, at a question: arrow keys do nothing; t, then y with a command line typed at once: the blocker is terminated and the shell runs the line",
        .enabled(if: TmuxPane.isAvailable, TmuxPane.unavailableReason)
    )
    func questionKeys() async throws {
        try await ScratchDatabase.with { database in
            let fixture = try await UpgradeFixture.prepare(database)
            let reader = try await database.idleInTransactionReader(of: "orders", "forgotten-report")
            let readerPID = await reader.backendPID
            let arguments = fixture.arguments().filter { $0 != "--no-interactive" } + fixture.migration
            let pane = try await TmuxPane.start(columns: 200, rows: 50)
            defer { pane.close() }
            try pane.run(([PGWardenCommand.executable.path] + arguments).map { "'\($0)'" }.joined(separator: " "))
            try await pane.waitForScreen("the question") { $0.contains { $0.contains("[a]bort the migration?") } }
            // ESC [ C and ESC [ A: read byte by byte they would be c (cancel at once) and a (abort).
            try pane.press("Right", "Up", "Left", "Down")
            try pane.press("t")
            try await pane.waitForScreen("the confirmation") { $0.contains { $0.contains("[y/n]") } }
            let marker = "typed-after-y-" + UUID().uuidString.prefix(8).lowercased()
            try pane.type("y" + "echo \(marker)")
            try pane.press("Enter")
            try await pane.waitForScreen("the run ends", timeout: .seconds(60)) {
                $0.contains { $0.contains("succeeded in") }
            }
            try await pane.waitForScreen("the shell runs the line") { screen in
                screen.contains { $0.hasSuffix(marker) && !$0.contains("echo") }
            }
            let log = try pane.screen().joined(separator: "\n")
            #expect(log.contains("operator: terminate pid \(readerPID) → signalled"), "\(log)")
            #expect(!log.contains("operator: cancel"), "an arrow key cancelled: \(log)")
            #expect(!log.contains("abort the migration? [y/n]"), "an arrow key asked to abort: \(log)")
        }
    }
}
