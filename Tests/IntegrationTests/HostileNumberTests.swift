import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Huge, negative, unit-less and zero numbers in flags, config and policy files: one `error:` line
/// naming the flag or file:line:key, before anything changes; never a trap.
@Suite(
    "Hostile numbers",
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason),
    .enabled(if: TestCrontab.isAvailable, TestCrontab.unavailableReason)
)
struct HostileNumberTests {
    static let crontab = "*/5 * * * * /usr/bin/python3 app-cli process-queue\n"
    static let huge = "1" + String(repeating: "0", count: 300)

    /// A fresh state directory, the test user's crontab installed, and the common `upgrade` arguments.
    private func prepare() throws -> (state: String, arguments: [String]) {
        try TestCrontab.install(Self.crontab, for: TestCrontab.bystanderUser)
        let state = NSTemporaryDirectory() + "pgwarden-numbers-" + UUID().uuidString
        return (
            state,
            [
                "upgrade", "--pause-workers", "app-cli", "--crontab-user", TestCrontab.bystanderUser, "--state-dir",
                state,
                "--no-interactive",
            ]
        )
    }

    /// Nothing changed: the crontab as it was, no journal written.
    private func expectNothingChanged(_ state: String, _ context: String) throws {
        #expect(try TestCrontab.read(TestCrontab.bystanderUser) == Self.crontab, "\(context)")
        #expect(!FileManager.default.fileExists(atPath: state + "/run.json"), "\(context)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: state))?.isEmpty ?? true, "\(context)")
    }

    @Test(
        "flags: one error line naming the flag and the reason, exit 64, nothing paused",
        arguments: [
            (["--retries", "9223372036854775807"], "--retries <count>': must be from 0 to 100"),
            (["--retries", "-1"], "--retries <count>': must be from 0 to 100"),
            (["--lock-timeout", "0s"], "--lock-timeout <duration>': must be at least 1ms"),
            (["--lock-timeout", "0.4ms"], "--lock-timeout <duration>': must be at least 1ms"),
            (["--lock-timeout", "500"], "--lock-timeout <duration>': has no unit: write 500ms or 500s"),
            (["--grace", "1e300s"], "--grace <duration>': is not a duration"),
            (["--grace", huge + "s"], "--grace <duration>': must be at most 24d"),
            (["--max-lock-wait", "-5s"], "--max-lock-wait <duration>': must be positive"),
            (["--retry-delay", huge + "d"], "--retry-delay <duration>': must be at most 24d"),
            (["--request-timeout", "9223372036854775807s"], "--request-timeout <duration>': must be at most 24d"),
        ]
    )
    func flags(_ flag: [String], _ message: String) async throws {
        let (state, arguments) = try prepare()
        let result = try await PGWardenCommand.run(arguments + flag + ["--", "true"])
        #expect(result.status == 64, "\(result.standardError)")
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.first?.hasPrefix("error: The value '\(flag[1])' is invalid for '") == true, "\(lines)")
        #expect(lines.first?.contains(message) == true, "\(lines)")
        #expect(lines.count == 2 && lines.last == "hint: see 'pgwarden help'", "\(lines)")
        #expect(result.standardOutput.isEmpty)
        try expectNothingChanged(state, "\(flag)")
    }

    @Test(
        "config and policy files: file:line: key: reason, exit 1, nothing paused",
        arguments: [
            ("grace = 1e300", "config", "2: grace: a bare number has no unit"),
            // A value longer than 200 characters is quoted cut, with its size.
            (
                "grace = \"\(huge)s\"", "config",
                "2: grace: '\("\(huge)s".prefix(200))… (\(huge.utf8.count + 1) bytes)' must be at most 24d"
            ),
            ("retries = 9223372036854775807", "config", "2: retries: must be from 0 to 100"),
            ("retries = 1e300", "config", "2: retries: expected a whole number from 0 to 100, found a number"),
            ("lock_timeout = \"0s\"", "config", "2: lock_timeout: '0s' must be at least 1ms"),
            ("lock_timeout = 500", "config", "2: lock_timeout: a bare number has no unit: write \"500ms\" or \"500s\""),
            ("interval = 1e300", "policy", "1: interval: a bare number has no unit"),
            ("[[rule]]\nname = \"x\"\naction = \"log\"\nblocking_for = 1e300", "policy", "4: rule 'x': blocking_for"),
            (
                "[[rule]]\nname = \"x\"\naction = \"cancel\"\nescalate_after = \"\(huge)h\"", "policy",
                "4: rule 'x': escalate_after"
            ),
            ("[[rule]]\nname = \"x\"\naction = \"log\"\nmin_xact_age = 1e300", "policy", "4: rule 'x': min_xact_age"),
        ]
    )
    func files(_ text: String, _ kind: String, _ message: String) async throws {
        let (state, arguments) = try prepare()
        let file = NSTemporaryDirectory() + "pgwarden-numbers-" + UUID().uuidString + ".toml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result: PGWardenCommand.Output
        if kind == "config" {
            try "command = [\"true\"]\n\(text)\n".write(toFile: file, atomically: true, encoding: .utf8)
            result = try await PGWardenCommand.run(arguments + ["--config", file])
        } else {
            try (text + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            result = try await PGWardenCommand.run(arguments + ["--policy", file, "--", "true"])
            let guardRun = try await PGWardenCommand.run(["guard", "--policy", file, "--once"])
            #expect(guardRun.status == 1)
            #expect(guardRun.standardError.hasPrefix("error: \(file):\(message)"), "\(guardRun.standardError)")
        }
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.hasPrefix("error: \(file):\(message)"), "\(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        try expectNothingChanged(state, text)
    }

    @Test("help shows durations' defaults as written")
    func helpDefaults() async throws {
        let cases: [([String], String)] = [
            (["locks", "--help"], "default: 1s"), (["upgrade", "--help"], "default: 30s"),
            (["upgrade", "--help"], "default: 5s"), (["workers", "pause", "--help"], "default: 30s"),
            (["reload", "--help"], "default: 120s"),
        ]
        for (arguments, expected) in cases {
            let help = try await PGWardenCommand.run(arguments)
            #expect(help.status == 0)
            let text = help.standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(text.contains(expected), "\(arguments): \(text)")
            #expect(!text.contains("DurationArgument") && !text.contains("seconds)"), "\(arguments)")
        }
    }

    @Test("a running guard sent SIGHUP with a policy of huge numbers keeps the old policy and runs on")
    func guardReload() async throws {
        try await ScratchDatabase.with { database in
            let policy = NSTemporaryDirectory() + "pgwarden-numbers-" + UUID().uuidString + ".toml"
            defer { try? FileManager.default.removeItem(atPath: policy) }
            let good = "interval = \"100ms\"\n[[rule]]\nname = \"watch\"\naction = \"log\"\n"
            try good.write(toFile: policy, atomically: true, encoding: .utf8)
            let daemon = try RunningCommand(
                ["guard", "--policy", policy, "--audit-log", "/dev/null", "--dsn", database.connectionString],
                environment: ["PGWARDEN_LOG_LEVEL": "info"]
            )
            defer { daemon.kill() }
            try await daemon.waitForStandardError("connected; polling")
            let bad = [
                "interval = 1e300", "interval = \"\(Self.huge)s\"", "max_actions_per_minute = 9223372036854775807",
                "[[rule]]\nname = \"x\"\naction = \"cancel\"\nescalate_after = 1e300\nblocking_for = 1e300",
            ]
            for (index, text) in bad.enumerated() {
                try text.write(toFile: policy, atomically: true, encoding: .utf8)
                daemon.send(SIGHUP)
                try await daemon.waitForStandardError("keeping the previous policy:", count: index + 1)
            }
            try (good + "[[rule]]\nname = \"second\"\naction = \"log\"\n").write(
                toFile: policy,
                atomically: true,
                encoding: .utf8
            )
            daemon.send(SIGHUP)
            try await daemon.waitForStandardError("policy reloaded: 2 rules")
            #expect(!daemon.standardError.contains("Fatal error"))
            daemon.send(SIGINT)
            #expect(try await daemon.waitForExit() == 0)
        }
    }
}
