import Foundation
import Postgres
import TestSupport
import Testing

/// `pgwarden locks` piped and plain: a cycle, waits in another database, a non-UTF-8 locale, a dumb terminal.
@Suite("pgwarden locks output", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct LocksOutputTests {
    @Test("piped --watch: a cycle the server has not broken yet reads as a cycle, with who holds what")
    func cycle() async throws {
        try await ScratchDatabase.with { database in
            let first = try await database.session("left")
            let second = try await database.session("right")
            let observer = try await database.session("observer")
            for session in [first, second] {
                // The waiting backend looks for deadlocks after its own deadlock_timeout: keep the cycle up.
                _ = try await session.query("SET deadlock_timeout = '60s'")
                _ = try await session.query("BEGIN")
            }
            _ = try await first.query("SELECT pg_advisory_xact_lock(1)")
            _ = try await second.query("SELECT pg_advisory_xact_lock(2)")
            let firstPID = await first.backendPID
            let secondPID = await second.backendPID
            let left = Task { _ = try await first.query("SELECT pg_advisory_xact_lock(2)") }
            try await database.waitUntilWaiting(firstPID, observer: observer)
            let right = Task { _ = try await second.query("SELECT pg_advisory_xact_lock(1)") }
            try await database.waitUntilWaiting(secondPID, observer: observer)

            let watcher = try RunningCommand(
                ["locks", "--watch", "--interval", "100ms", "--dsn", database.connectionString]
            )
            defer { watcher.kill() }
            try await watcher.waitForStandardOutput("cycle (deadlock not yet detected)")
            let line = try #require(watcher.standardOutput.split(separator: "\n").first { $0.contains("cycle") })
            #expect(line.contains(" 2 waiting; cycle (deadlock not yet detected) ["))
            #expect(line.contains("\(firstPID) waits") && line.contains("held by \(secondPID)"))
            #expect(line.contains("\(secondPID) waits") && line.contains("held by \(firstPID)"))
            #expect(line.contains("ExclusiveLock on advisory lock"))
            watcher.kill()
            _ = try await observer.query("SELECT pg_terminate_backend($1)", [secondPID])
            _ = try? await right.value
            _ = try await first.query("ROLLBACK")
            _ = try? await left.value
        }
    }

    @Test("nothing waits in the connected database, something elsewhere: say where, hint --all-databases")
    func elsewhere() async throws {
        try await ScratchDatabase.with { database in
            let (reader, _, _, alter) = try await database.alterBehindIdleReader("alembic")
            try await ScratchDatabase.with { quiet in
                let result = try await PGWardenCommand.run(["locks", "--dsn", quiet.connectionString])
                #expect(result.status == 0)
                let lines = result.standardOutput.split(separator: "\n").map(String.init)
                #expect(lines.first == "No session is waiting on a lock in \(quiet.name).")
                #expect(lines.dropFirst().first?.contains("on locks in other databases:") == true)
                #expect(lines.dropFirst().first?.contains("\(database.name) (1)") == true)
                #expect(result.standardError == "hint: add --all-databases to see them\n")

                let json = try await PGWardenCommand.run(["locks", "--json", "--dsn", quiet.connectionString])
                #expect(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) is [String: Any])
                #expect(json.standardError.contains("\(database.name) (1)"))

                let watcher = try RunningCommand(
                    ["locks", "--watch", "--interval", "100ms", "--dsn", quiet.connectionString]
                )
                defer { watcher.kill() }
                try await watcher.waitForStandardOutput("(see --all-databases)")
                let line = try #require(watcher.standardOutput.split(separator: "\n").first)
                // Other tests' waits in their own databases may be listed too.
                #expect(line.contains("Z no lock waits; "), "\(line)")
                #expect(
                    line.contains(" on locks in other databases: ") && line.contains("\(database.name) (1)"),
                    "\(line)"
                )
                #expect(line.hasSuffix(" (see --all-databases)"), "\(line)")
            }
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }

    @Test("LC_ALL=C: the tree in ASCII; a UTF-8 locale keeps the box-drawing characters")
    func asciiUnderCLocale() async throws {
        try await ScratchDatabase.with { database in
            let (reader, readerPID, _, alter) = try await database.alterBehindIdleReader("alembic")
            let plain = try await PGWardenCommand.run(
                ["locks", "--dsn", database.connectionString],
                environment: ["LC_ALL": "C", "COLUMNS": "200"]
            )
            #expect(plain.standardOutput.unicodeScalars.allSatisfy { $0.isASCII }, "\(plain.standardOutput)")
            #expect(plain.standardOutput.contains("pid \(readerPID) - idle in transaction"))
            #expect(plain.standardOutput.contains("`- pid \(alter.pid) - waits"))
            let utf8 = try await PGWardenCommand.run(
                ["locks", "--dsn", database.connectionString],
                environment: ["LC_ALL": "", "LC_CTYPE": "", "LANG": "en_US.UTF-8"]
            )
            #expect(utf8.standardOutput.contains("└─ pid \(alter.pid) · waits"))
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }

    @Test(
        "TERM=dumb on a terminal: no colour, and --watch prints lines instead of a full screen",
        .enabled(if: TmuxPane.isAvailable, TmuxPane.unavailableReason)
    )
    func dumbTerminal() async throws {
        try await ScratchDatabase.with { database in
            let (reader, _, _, alter) = try await database.alterBehindIdleReader("alembic")
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            let binary = PGWardenCommand.executable.path
            try pane.run("env -u NO_COLOR TERM=xterm \(binary) locks --dsn \(database.connectionString); echo done=coloured")
            try await pane.waitForScreen("the coloured run ends") { $0.contains("done=coloured") }
            let coloured = try pane.tmux(["capture-pane", "-p", "-e", "-t", "test"])
            #expect(coloured.contains("\u{1B}["), "a terminal that can gets colour")
            try pane.run("clear; TERM=dumb \(binary) locks --dsn \(database.connectionString); echo done=dumb")
            try await pane.waitForScreen("the dumb run ends") { $0.contains("done=dumb") }
            let dumb = try pane.tmux(["capture-pane", "-p", "-e", "-t", "test"])
            #expect(dumb.contains("waits") && !dumb.contains("\u{1B}["), "\(dumb)")
            try pane.run("clear; TERM=dumb \(binary) locks --watch --interval 100ms --dsn \(database.connectionString)")
            try await pane.waitForScreen("lines, not a screen") { screen in
                screen.filter { $0.contains(" 1 waiting; root pid") }.count >= 2
            }
            try pane.press("C-c")
            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }
}
