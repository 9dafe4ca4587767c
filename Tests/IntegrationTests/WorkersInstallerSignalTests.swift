import Foundation
import TestSupport
import Testing
import WardenSupport
import Workers

#if canImport(Glibc)
    import Glibc
#endif

/// The `crontab` installer under signals: a hang-up to pgwarden's process group (an SSH drop) never
/// reaches it, and one that dies after it installed is not taken for one that did not. Through a
/// `crontab` of the test's own first on PATH, which hands every call to the real one (in the
/// serialized `WorkersTests` suite: they share its user's crontab).
extension WorkersTests {
    /// A directory holding a `crontab` that runs `script` for an install and is the real one for `-l`.
    func crontabShim(_ script: String) throws -> String {
        let directory = NSTemporaryDirectory() + "pgwarden-test-shim-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let shim = """
            #!/bin/sh
            case " $* " in *" -l "*) exec /usr/bin/crontab "$@" ;; esac
            \(script)

            """
        try Data(shim.utf8).write(to: URL(fileURLWithPath: directory + "/crontab"))
        chmod(directory + "/crontab", 0o755)
        return directory
    }

    /// PATH with `directory` first.
    func path(before directory: String) -> [String: String] {
        ["PATH": directory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
    }

    @Test("a hang-up to pgwarden's process group mid-install (an SSH drop) does not reach the installer")
    func hangUpSparesTheInstaller() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        let shim = try crontabShim(
            """
            echo "$PPID" > "$(dirname "$0")/installing"
            while [ ! -e "$(dirname "$0")/release" ]; do sleep 0.02; done
            exec /usr/bin/crontab "$@"
            """
        )
        // A session of its own, so that the hang-up goes to pgwarden's group and never to the tests'.
        let pause = Process()
        pause.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        pause.arguments = [
            "-w", PGWardenCommand.executable.path, "workers", "pause", "--user", user, "--match", "app-cli",
            "--state-dir", state,
        ]
        pause.environment = ProcessInfo.processInfo.environment.merging(path(before: shim)) { $1 }
        let errors = Pipe()
        pause.standardError = errors
        pause.standardOutput = FileHandle.nullDevice
        pause.standardInput = FileHandle.nullDevice
        try pause.run()
        try await eventually("the installer runs", timeout: .seconds(30)) {
            FileManager.default.fileExists(atPath: shim + "/installing")
        }
        let pgwardenPID = try #require(
            Int32(
                String(decoding: try Data(contentsOf: URL(fileURLWithPath: shim + "/installing")), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            )
        )
        let group = getpgid(pgwardenPID)
        try #require(group > 0 && group != getpgrp())

        #expect(kill(-group, SIGHUP) == 0)
        #expect(FileManager.default.createFile(atPath: shim + "/release", contents: nil))
        let said = try await onDedicatedThread { errors.fileHandleForReading.readDataToEndOfFile() }
        pause.waitUntilExit()

        #expect(pause.terminationStatus == 0, "\(String(decoding: said, as: UTF8.self))")
        #expect(try TestCrontab.read(user).contains("#pgwarden:paused:"))
        let resume = try await pgwarden(["resume", "--state-dir", state])
        #expect(resume.status == 0, "\(resume.standardError)")
        #expect(try TestCrontab.read(user) == Self.crontab)
    }

    @Test("an installer that dies by a signal after it installed: the pause holds, and resume gives every byte back")
    func installerKilledAfterInstalling() async throws {
        try TestCrontab.install(Self.crontab, for: user)
        let state = stateDirectory()
        let shim = try crontabShim(
            """
            /usr/bin/crontab "$@" || exit $?
            kill -HUP $$
            """
        )

        let pause = try await PGWardenCommand.run(
            ["workers", "pause", "--user", user, "--match", "app-cli", "--state-dir", state],
            environment: path(before: shim)
        )

        #expect(pause.status == 0, "\(pause.standardError)")
        let paused = try TestCrontab.read(user)
        #expect(paused.contains("#pgwarden:paused:"))
        #expect(pause.standardError.contains("ended by signal 1 after it installed"), "\(pause.standardError)")
        let resume = try await PGWardenCommand.run(["workers", "resume", "--state-dir", state])
        #expect(resume.status == 0, "\(resume.standardError)")
        #expect(try TestCrontab.read(user) == Self.crontab)

        // The control: one that dies before it installs is a failed pause, and nothing changed.
        let before = try crontabShim("kill -HUP $$")
        let refusedState = stateDirectory()
        let refused = try await PGWardenCommand.run(
            ["workers", "pause", "--user", user, "--match", "app-cli", "--state-dir", refusedState],
            environment: path(before: before)
        )
        #expect(refused.status == 1)
        #expect(
            refused.standardError.hasPrefix(
                "error: crontab was ended by signal 1 installing the crontab of \(user); the crontab does not hold the new text"
            ),
            "\(refused.standardError)"
        )
        // The crontab reads back as it was, so the journal of that pause is gone: nothing to settle.
        #expect(!FileManager.default.fileExists(atPath: refusedState + "/workers-pause.json"))
        #expect(try TestCrontab.read(user) == Self.crontab)
    }
}
