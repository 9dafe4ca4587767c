import Foundation
import TestSupport
import Testing

/// What an operator's server needs: an install without the toolchain, metrics, and output that fits the terminal.
@Suite("Ready for an operator's server", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct OperatorReadinessTests {
    static let packageRoot = UpgradeFixture.packageRoot

    @Test("scripts/install into a temporary prefix and back out; the binary needs only libpq and the C runtime")
    func installAndUninstall() async throws {
        let prefix = NSTemporaryDirectory() + "pgwarden-prefix-" + UUID().uuidString
        let install = try await TestCrontab.runOffPool(Self.packageRoot + "/scripts/install", [prefix])
        #expect(install.status == 0, "\(install.error)")
        let files = [
            "bin/pgwarden", "share/man/man1/pgwarden.1", "share/bash-completion/completions/pgwarden",
            "share/zsh/site-functions/_pgwarden", "share/fish/vendor_completions.d/pgwarden.fish",
            "lib/systemd/system/pgwarden-guard.service",
        ]
        for file in files {
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(prefix)/\(file)")[.size] as? Int) ?? 0
            #expect(size > 0, "\(file) missing or empty")
        }
        let manual = try String(contentsOfFile: prefix + "/share/man/man1/pgwarden.1", encoding: .utf8)
        #expect(
            manual.contains(".TH PGWARDEN") && manual.contains("upgrade") && manual.contains("guard"),
            "\(manual.prefix(300))"
        )
        let bash = try String(contentsOfFile: prefix + "/share/bash-completion/completions/pgwarden", encoding: .utf8)
        #expect(bash.contains("pgwarden") && bash.contains("--metrics-listen"))
        let unit = try String(contentsOfFile: prefix + "/lib/systemd/system/pgwarden-guard.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=\(prefix)/bin/pgwarden guard"))
        #expect(unit.contains("ExecReload=/bin/kill -HUP $MAINPID") && unit.contains("Restart=on-failure"))
        #expect(
            unit.contains("NoNewPrivileges=true") && unit.contains("ProtectSystem=strict")
                && unit.contains("User=pgwarden")
        )

        // Linked against libpq and the C runtime only: no Swift library from the toolchain.
        let needed = try await TestCrontab.runOffPool("/usr/bin/readelf", ["-d", prefix + "/bin/pgwarden"])
        let libraries = needed.output.split(separator: "\n").filter { $0.contains("(NEEDED)") }
            .compactMap { $0.split(separator: "[").last?.dropLast() }.map(String.init)
        #expect(libraries.contains("libpq.so.5"))
        #expect(
            libraries.allSatisfy {
                ["libpq.so.5", "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"]
                    .contains($0)
            },
            "\(libraries)"
        )
        let version = try await TestCrontab.runOffPool("/usr/bin/env", ["-i", prefix + "/bin/pgwarden", "--version"])
        #expect(version.output.hasPrefix("pgwarden 0.1.0, libpq "), "\(version.output)")

        let uninstall = try await TestCrontab.runOffPool(
            Self.packageRoot + "/scripts/install",
            ["--uninstall", prefix]
        )
        #expect(uninstall.status == 0)
        let left = FileManager.default.enumerator(atPath: prefix)?.allObjects.compactMap { $0 as? String }
            .filter { name in
                var directory: ObjCBool = false
                return FileManager.default.fileExists(atPath: prefix + "/" + name, isDirectory: &directory)
                    && !directory.boolValue
            }
        #expect(left == [])
        // Nor any directory: the prefix did not exist before, and the install created every one below it.
        #expect(
            !FileManager.default.fileExists(atPath: prefix),
            "\(FileManager.default.subpaths(atPath: prefix) ?? [])"
        )
    }

    @Test("--uninstall removes the directories the install created, when empty, and no other")
    func uninstallLeavesNoEmptyDirectories() async throws {
        let prefix = NSTemporaryDirectory() + "pgwarden-prefix-" + UUID().uuidString
        let manager = FileManager.default
        try manager.createDirectory(atPath: prefix + "/share/man/man1", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: prefix + "/keep/empty", withIntermediateDirectories: true)
        defer { try? manager.removeItem(atPath: prefix) }
        // What an install into this prefix leaves: share/man/man1 was there before (not created by it).
        let files = ["bin/pgwarden", "share/man/man1/pgwarden.1", "lib/systemd/system/pgwarden-guard.service"]
        let created = ["bin", "lib", "lib/systemd", "lib/systemd/system", "share/pgwarden"]
        for directory in created {
            try manager.createDirectory(atPath: "\(prefix)/\(directory)", withIntermediateDirectories: true)
        }
        for file in files { try "x".write(toFile: "\(prefix)/\(file)", atomically: false, encoding: .utf8) }
        try (files.map { "\(prefix)/\($0)" }.joined(separator: "\n") + "\n").write(
            toFile: prefix + "/share/pgwarden/install-manifest",
            atomically: false,
            encoding: .utf8
        )
        try (created.map { "\(prefix)/\($0)" }.joined(separator: "\n") + "\n").write(
            toFile: prefix + "/share/pgwarden/install-directories",
            atomically: false,
            encoding: .utf8
        )

        let uninstall = try await TestCrontab.runOffPool(
            Self.packageRoot + "/scripts/install",
            ["--uninstall", prefix]
        )

        #expect(uninstall.status == 0, "\(uninstall.error)")
        let left = Set(manager.subpaths(atPath: prefix) ?? [])
        // Empty directories it did not create stay (share/man/man1 was there before, so were keep/empty).
        #expect(left == ["share", "share/man", "share/man/man1", "keep", "keep/empty"], "\(left.sorted())")
    }

    @Test("--metrics-listen: scraped during a real lock wait that the policy resolves, the counters move")
    func metrics() async throws {
        try await ScratchDatabase.with { database in
            try await database.createTable()
            let port = try HTTPProbe.freePort()
            let policy = NSTemporaryDirectory() + "pgwarden-metrics-policy-" + UUID().uuidString + ".toml"
            try """
            interval = "100ms"
            [[rule]]
            name = "idle blockers"
            blocking_for = "20s"
            state = ["idle in transaction"]
            action = "terminate"
            """.write(toFile: policy, atomically: true, encoding: .utf8)
            // The wait shows in the metrics only until the rule ends it: 20 s, for a loaded machine to see the wait
            // begin, scrape and see it there (CI missed a 2 s window once, and a 6 s one with the fleet suites beside).
            let daemon = try RunningCommand(
                [
                    "guard", "--policy", policy, "--metrics-listen", "127.0.0.1:\(port)", "--dsn",
                    database.connectionString,
                    "--audit-log", "/dev/null",
                ],
                environment: ["PGWARDEN_LOG_LEVEL": "info"]
            )
            try await daemon.waitForStandardError("connected; polling")
            let scrape = { try await HTTPProbe.getOffPool(port: port, path: "/metrics").body }
            #expect(try await scrape().contains("pgwarden_guard_lock_waits 0\n"))

            let reader = try await database.idleInTransactionReader()
            let observer = try await database.session("observer")
            let migration = try await database.startBlockedStatement(
                "ALTER TABLE t ADD COLUMN c int",
                "pgwarden-migration-m"
            )
            try await database.waitUntilWaiting(migration.pid, observer: observer)
            try await eventually("the wait shows in the metrics") {
                try await scrape().contains("pgwarden_guard_lock_waits 1\n")
            }
            try await migration.task.value
            try await eventually("the action is counted") {
                try await scrape().contains(
                    #"pgwarden_guard_actions_total{rule="idle blockers",action="terminate",outcome="signalled"} 1"#
                )
            }
            let text = try await scrape()
            #expect(text.contains("pgwarden_guard_connected 1") && text.contains("pgwarden_guard_reconnects_total 0"))
            let polls = text.split(separator: "\n").first { $0.hasPrefix("pgwarden_guard_polls_total ") }
            #expect((polls?.split(separator: " ").last.flatMap { Int($0) } ?? 0) > 1)
            #expect(try await HTTPProbe.getOffPool(port: port, path: "/").status == 404)
            daemon.send(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)
            withExtendedLifetime(reader) {}
        }
    }

    @Test("colour only on a terminal, and never with NO_COLOR")
    func noColour() async throws {
        let driver = """
            import os, pty, sys
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[1], sys.argv[1:])
            out = b""
            while True:
                try: chunk = os.read(fd, 4096)
                except OSError: break
                if not chunk: break
                out += chunk
            os.waitpid(pid, 0)
            sys.stdout.write(out.decode(errors="replace"))
            """
        let arguments = ["-c", driver, PGWardenCommand.executable.path, "locks", "--dsn", "port=="]
        // The test runner's own environment may carry NO_COLOR: unset it for the coloured case.
        let coloured = try await TestCrontab.runOffPool(
            "/usr/bin/env",
            ["-u", "NO_COLOR", "/usr/bin/python3"] + arguments
        )
        let plain = try await TestCrontab.runOffPool("/usr/bin/python3", arguments, environment: ["NO_COLOR": "1"])
        let piped = try await PGWardenCommand.run(["locks", "--dsn", "port=="])
        #expect(coloured.output.contains("\u{1B}[1;31merror:\u{1B}[0m invalid integer value"))
        #expect(!plain.output.contains("\u{1B}[") && plain.output.contains("error: invalid integer value"))
        #expect(!piped.standardError.contains("\u{1B}["))
    }
}
