import Foundation
import Reload
import Testing

@testable import Supervisor

@Suite("A deployment file's hosts")
struct FleetSettingsTests {
    func settings(_ text: String) throws -> UpgradeSettings {
        let path = NSTemporaryDirectory() + "pgwarden-fleet-" + UUID().uuidString + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try UpgradeSettings.fromConfigFile(path)
    }

    @Test("host, ssh_config and the timeouts are read; a local crontab set stays the primary one")
    func reads() throws {
        let read = try settings(
            """
            ssh_config = "/etc/fleet/ssh_config"
            remote_pgwarden = "/usr/bin/pgwarden"
            connect_timeout = "3s"
            [[workers]]
            kind = "crontab"
            match = ["a"]
            host = "app@web1"
            [[workers]]
            kind = "crontab"
            match = ["b"]
            """
        )
        #expect(read.fleet.sshConfig == "/etc/fleet/ssh_config")
        #expect(read.fleet.program == "/usr/bin/pgwarden")
        #expect(read.fleet.connectTimeout == .seconds(3))
        #expect(read.fleet.workerHosts == ["app@web1", nil])
        #expect(read.primaryCrontabSet == 1)
        #expect(read.pausePatterns == ["b"])
    }

    @Test("a host that would read as an option is refused naming the entry; app servers of every kind may have one")
    func refuses() throws {
        #expect(throws: (any Error).self) {
            try settings("[[workers]]\nkind = \"crontab\"\nmatch = [\"a\"]\nhost = \"-oProxyCommand=x\"\n")
        }
        #expect(
            try settings("[[app_servers]]\nkind = \"command\"\nreload = [\"x\"]\nhost = \"web1\"\n")
                .appServers.first?.host == "web1"
        )
        #expect(
            try settings("[[app_servers]]\nkind = \"gunicorn\"\npidfile = \"/run/g.pid\"\nhost = \"web1\"\n")
                .appServers.first?.host == "web1"
        )
    }

    @Test("parallel_hosts: 8 unless given, from 1 to 64; any other value is refused naming the key and its range")
    func parallelHosts() throws {
        let set = "[[workers]]\nkind = \"crontab\"\nmatch = [\"a\"]\nhost = \"web1\"\n"
        #expect(try settings(set).fleet.parallelHosts == 8)
        #expect(try settings("parallel_hosts = 3\n" + set).fleet.parallelHosts == 3)
        #expect(try settings("parallel_hosts = 64\n" + set).fleet.parallelHosts == 64)
        for bad in ["0", "65", "-1", "\"8\""] {
            #expect {
                try settings("parallel_hosts = \(bad)\n" + set)
            } throws: { error in
                "\(error)".contains("parallel_hosts")
            }
        }
    }

    @Test("a command app server's argv reaches the host's pgwarden reload as one word it splits back word for word")
    func remoteCommandReload() throws {
        let argv = ["/usr/bin/env", "it's", "", "a b", "$HOME", "\\", "\"q\"", "é"]
        let arguments = RunExecution.remoteReloadArguments(
            .command(arguments: argv, pidfile: "/run/uwsgi.pid"),
            timeout: .seconds(90)
        )
        #expect(arguments.first == "reload" && arguments[1] == "--reload-command")
        #expect(CommandLineWords.split(arguments[2]) == argv)
        #expect(Array(arguments.dropFirst(3)) == ["--uwsgi-pidfile", "/run/uwsgi.pid", "--timeout", "90s"])
    }
}
