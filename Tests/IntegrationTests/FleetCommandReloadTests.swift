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
}
