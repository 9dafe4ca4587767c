import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The view's ending with a window widened by strace (pgwarden's exit or its writes held back):
/// what is typed after `q` reaches the shell, nothing is drawn after the terminal is given back.
extension LockViewTerminalTests {
    static let straceIsInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/strace")

    /// `strace` in front of a command line: each `call` of pgwarden's held back `microseconds`.
    static func holdingBack(_ call: String, microseconds: Int) -> String {
        "strace -f -qq -o /dev/null -e trace=\(call) -e inject=\(call):delay_enter=\(microseconds) "
    }

    /// Runs `commandLine` (a view of a pile-up of one reader) in `pane`, until the view is up.
    static func startView(_ commandLine: String, in pane: TmuxPane) async throws {
        try pane.run(commandLine)
        try await pane.waitForScreen("the view is up") { $0.first?.contains("2 waiting, 1 root") == true }
    }

    /// Waits until the shell has run `echo marker`: the terminal echoes the line as it is typed, only the
    /// shell's run of it prints the marker without "echo" (after its prompt, when typed before it was drawn).
    static func waitUntilShellRan(_ marker: String, in pane: TmuxPane) async throws {
        try await pane.waitForScreen("the shell runs the line") { screen in
            screen.contains { $0.hasSuffix(marker) && !$0.contains("echo") }
        }
    }

    static func marker() -> String { "typed-after-q-" + UUID().uuidString.prefix(8).lowercased() }

    @Test(
        "a line typed once q has left the alternate screen reaches the shell, though pgwarden's exit is held back 2 s",
        .enabled(if: straceIsInstalled, "strace is not installed")
    )
    func lineTypedAfterQuit() async throws {
        try await ScratchDatabase.with { database in
            let pile = try await Self.pileUp(in: database, readers: 1)
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            // The window between the view giving the terminal back and the process ending, widened: a key
            // reader still waiting then would take the operator's next line, in canonical mode, whole.
            try await Self.startView(
                Self.holdingBack("exit_group", microseconds: 2_000_000) + Self.command(database),
                in: pane
            )
            try pane.press("q")
            try await eventually("the alternate screen is left") {
                try pane.tmux(["display-message", "-p", "-t", "test", "#{alternate_on}"]) == "0\n"
            }
            let marker = Self.marker()
            try pane.run("echo \(marker)")
            try await Self.waitUntilShellRan(marker, in: pane)
            try await pile.release()
        }
    }

    @Test(
        "a line typed right after q, while the view is slow to draw, reaches the shell: no key is read after q",
        .enabled(if: straceIsInstalled, "strace is not installed")
    )
    func lineTypedWhileSlowToDraw() async throws {
        try await ScratchDatabase.with { database in
            let pile = try await Self.pileUp(in: database, readers: 1)
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            // Every write of pgwarden's held back 0.3 s: a terminal behind a congested link. The view takes
            // its keys late, and a reader that went on reading would take what is typed after q.
            try await Self.startView(
                Self.holdingBack("write", microseconds: 300_000) + Self.command(database),
                in: pane
            )
            let marker = Self.marker()
            // q and the line in one burst: the view's read may find them together in the terminal's queue.
            try pane.type("qecho \(marker)")
            try pane.press("Enter")
            try await eventually("pgwarden has ended", timeout: .seconds(30)) {
                try pane.tmux(["display-message", "-p", "-t", "test", "#{pane_current_command}"]) == "sh\n"
            }
            // Typed in raw mode, the line ended in CR, which the view's terminal did not turn into a newline:
            // /bin/sh holds it until the next Enter (an editing shell such as bash reads the CR as Enter).
            try pane.press("Enter")
            try await Self.waitUntilShellRan(marker, in: pane)
            try await pile.release()
        }
    }

    @Test(
        "SIGTERM with pgwarden's exit held back 2 s: nothing is drawn once the terminal is given back",
        .enabled(if: straceIsInstalled, "strace is not installed")
    )
    func nothingDrawnAfterRestore() async throws {
        try await ScratchDatabase.with { database in
            let pile = try await Self.pileUp(in: database, readers: 1)
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestCluster.uniqueName("view"))
                .path
            defer { try? FileManager.default.removeItem(atPath: pidFile) }
            let heldExit = Self.holdingBack("exit_group", microseconds: 2_000_000)
            try await Self.startView(
                "clear; \(heldExit)sh -c 'echo $$ > \(pidFile); exec \(Self.command(database))'; echo exit=$?",
                in: pane
            )
            let pid = try #require(
                Int32(
                    try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                )
            )
            kill(pid, SIGTERM)
            // The view polls every 200 ms: ten polls come and go while the exit is held.
            let after = try await pane.waitForScreen("exit=143") { $0.contains { $0.contains("exit=143") } }
            #expect(!after.contains { $0.contains("USER@DB") || $0.contains("waiting, 1 root") }, "\(after)")
            try await pile.release()
        }
    }
}
