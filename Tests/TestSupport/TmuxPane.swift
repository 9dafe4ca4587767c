import Foundation
import Testing

/// A real terminal for a test: a tmux server of the test's own (its own socket), one 80×24
/// pane running a shell, driven with `send-keys` and read with `capture-pane`.
package final class TmuxPane: Sendable {
    /// The tmux binary, when installed.
    package static let executable =
        ([ProcessInfo.processInfo.environment["PGWARDEN_TEST_TMUX"]].compactMap { $0 } + [
            "/usr/bin/tmux", "/usr/local/bin/tmux",
        ]).first { FileManager.default.isExecutableFile(atPath: $0) }
    /// Whether tmux is installed.
    package static var isAvailable: Bool { executable != nil }
    /// Why terminal tests are skipped without it.
    package static let unavailableReason: Comment =
        "tmux is not installed (scripts/setup installs it): terminal tests skipped"

    private let socket = "pgwarden-test-" + UUID().uuidString.prefix(8).lowercased()

    /// Starts the server and a pane of `columns`×`rows` running `/bin/sh` with the prompt `$ `, and
    /// returns once the shell has drawn its first prompt: keys typed before it would be echoed ahead of it.
    package static func start(columns: Int = 80, rows: Int = 24) async throws -> TmuxPane {
        let pane = try TmuxPane(columns: columns, rows: rows)
        try await pane.waitForScreen("the shell's first prompt", timeout: .seconds(30)) { $0.first == "$" }
        return pane
    }

    private init(columns: Int, rows: Int) throws {
        // The server this starts outlives the call: it must not inherit a pipe that someone reads to its end.
        guard let executable = Self.executable else { throw TestSupportError("tmux is not installed") }
        let arguments = [
            "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "test", "-x", "\(columns)", "-y", "\(rows)",
            "env PS1='$ ' /bin/sh",
        ]
        // Through a launcher that closes every inherited descriptor (as PrivateCluster starts a server) and
        // unblocks every signal: the test process's threads block most of them, a child inherits that mask,
        // and a tmux server that cannot receive SIGCHLD or SIGTERM never exits, not even on kill-server.
        let launcher =
            "import signal, subprocess, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
            + "sys.exit(subprocess.call(sys.argv[1:], close_fds=True, stdin=subprocess.DEVNULL, "
            + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))"
        let result = try TestCrontab.run("/usr/bin/python3", ["-c", launcher, executable] + arguments)
        guard result.status == 0 else { throw TestSupportError("tmux new-session failed") }
    }

    /// Runs a tmux command on this test's server.
    @discardableResult
    package func tmux(_ arguments: [String]) throws -> String {
        guard let executable = Self.executable else { throw TestSupportError("tmux is not installed") }
        let result = try TestCrontab.run(executable, ["-L", socket, "-f", "/dev/null"] + arguments)
        guard result.status == 0 else { throw TestSupportError("tmux \(arguments): \(result.error)") }
        return result.output
    }

    /// Types `text` literally (no key names).
    package func type(_ text: String) throws {
        try tmux(["send-keys", "-t", "test", "-l", text])
    }

    /// Presses keys by tmux's names: `Enter`, `Up`, `Down`, `End`, `y`, ….
    package func press(_ keys: String...) throws {
        try tmux(["send-keys", "-t", "test"] + keys)
    }

    /// Types a command line and presses Enter.
    package func run(_ commandLine: String) throws {
        try type(commandLine)
        try press("Enter")
    }

    /// The screen as it is now, one string per line (trailing blanks trimmed by tmux).
    package func screen() throws -> [String] {
        try tmux(["capture-pane", "-p", "-t", "test"]).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
    }

    /// Waits until the screen satisfies `condition`, and returns it.
    @discardableResult
    package func waitForScreen(
        _ what: String,
        timeout: Duration = .seconds(45),
        _ condition: @escaping ([String]) -> Bool
    ) async throws -> [String] {
        var last: [String] = []
        do {
            try await eventually(what, timeout: timeout) {
                last = try self.screen()
                return condition(last)
            }
        } catch {
            throw TestSupportError("\(error); the screen:\n" + last.joined(separator: "\n"))
        }
        return last
    }

    /// The pane's terminal modes among `icanon`, `echo`, `isig` and `icrnl`, as `stty -a` reports them
    /// (`-echo` when off), asked of the shell now at its prompt.
    ///
    /// The answer comes back as one line after a marker of its own, so a screen captured while the
    /// answer is still being drawn is never taken for the answer.
    package func terminalModes() async throws -> Set<String> {
        let marker = "modes-" + UUID().uuidString.prefix(8).lowercased()
        try run(
            "echo \"\(marker): $(stty -a | tr -s ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo|isig|icrnl)' | tr '\\n' ' ')end\""
        )
        let screen = try await waitForScreen("stty answers") { screen in
            screen.contains { $0.hasPrefix("\(marker): ") && $0.hasSuffix("end") }
        }
        let line = try #require(screen.first { $0.hasPrefix("\(marker): ") })
        return Set(line.dropFirst(marker.count + 2).dropLast(3).split(separator: " ").map(String.init))
    }

    /// Ends this test's tmux server, and with it the pane's processes.
    package func close() {
        _ = try? tmux(["kill-server"])
    }

    deinit { close() }
}
