import Foundation
import TestSupport
import Testing

extension FleetReloadTests {
    @Test("a command app server on a host: its argv run there by the host's pgwarden, word for word, in its turn")
    func commandOnAHost() async throws {
        let hosts = try await SSHHosts(count: 2)
        defer { hosts.remove() }
        try await hosts.installCrontab(0, Self.crontab, for: user)
        // Run on h2, in its own /run: a word with a quote and a space must arrive as one word.
        let text = """
            ssh_config = "\(hosts.sshConfig)"
            remote_pgwarden = "\(PGWardenCommand.executable.path)"
            reload = "before"

            [[workers]]
            kind = "crontab"
            user = "\(user)"
            match = ["app-cli"]
            host = "h1"

            [[app_servers]]
            kind = "command"
            reload = ["/bin/sh", "-c", "printf '%s' \\"$1\\" > /run/reloaded", "sh", "it's reloaded"]
            host = "h2"

            """
        let config = stateDirectory + ".toml"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, config))
            #expect(run.status == 0, "\(run.standardOutput) \(run.standardError)")
            let said = run.standardOutput + run.standardError
            #expect(said.contains(" on h2"), "\(said)")
            let reloaded = hosts.hosts[1].directory + "/run/reloaded"
            #expect(try String(contentsOfFile: reloaded, encoding: .utf8) == "it's reloaded")
            #expect(!FileManager.default.fileExists(atPath: "/run/reloaded"))
            #expect(try await hosts.crontab(0, of: user) == Self.crontab)
        }
        try await hosts.stopAll()
    }

    @Test(
        "a command app server's argv starting with - reaches the host's pgwarden as the command, not as its option",
        arguments: [["--help"], ["-h", "x"]]
    )
    func commandStartingWithADash(argv: [String]) async throws {
        let hosts = try await SSHHosts(count: 1)
        defer { hosts.remove() }
        let words = argv.map { "\"\($0)\"" }.joined(separator: ", ")
        let config = stateDirectory + ".toml"
        try """
        ssh_config = "\(hosts.sshConfig)"
        remote_pgwarden = "\(PGWardenCommand.executable.path)"
        reload = "before"

        [[app_servers]]
        kind = "command"
        reload = [\(words)]
        host = "h1"

        """.write(toFile: config, atomically: true, encoding: .utf8)
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, config))
            let said = run.standardOutput + run.standardError
            // The host's pgwarden looked for a program of that name: the word arrived as the command, literally.
            // Before, it read the word as an option: "Missing value for '--reload-command <command>'".
            #expect(run.status != 0)
            #expect(said.contains("command not found: \(argv[0])"), "\(said)")
            #expect(!said.contains("Missing value"), "\(said)")
        }
        try await hosts.stopAll()
    }

    @Test("a remote reload argv too long for ssh is refused when the file is read: one error line, nothing run")
    func commandTooLongForSSH() async throws {
        let config = stateDirectory + "-long.toml"
        let marker = stateDirectory + "-ran"
        try """
        ssh_config = "/nonexistent/ssh_config"
        [[app_servers]]
        kind = "command"
        reload = ["/usr/bin/touch", "\(marker)", "\(String(repeating: "x", count: 140_000))"]
        host = "h1"

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try await PGWardenCommand.run([
            "upgrade", "--dsn", "host=/nonexistent", "--config", config, "--state-dir", stateDirectory,
            "--no-interactive", "--", "/usr/bin/touch", marker,
        ])
        #expect(run.status != 0)
        #expect(run.standardOutput.isEmpty)
        let lines = run.standardError.split(separator: "\n")
        #expect(lines.first?.hasPrefix("error: ") == true && lines.count <= 2, "\(lines.map { $0.prefix(200) })")
        #expect(run.standardError.contains("app_servers[1]") && run.standardError.contains("too long"))
        #expect(run.standardError.count < 600)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
