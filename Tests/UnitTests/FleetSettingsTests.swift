import Foundation
import Reload
import Testing
import WardenSupport

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
        #expect(arguments.first == "reload" && arguments[1].hasPrefix("--reload-command="))
        #expect(CommandLineWords.split(String(arguments[1].dropFirst("--reload-command=".count))) == argv)
        #expect(Array(arguments.dropFirst(2)) == ["--uwsgi-pidfile=/run/uwsgi.pid", "--timeout", "90s"])
    }

    @Test(
        "an argv whose first word starts with - is the --reload-command value, never an option of the host's pgwarden",
        arguments: [["--help"], ["-h", "x"], ["--timeout=1s"], ["-"], ["--"]]
    )
    func remoteCommandReloadLeadingDash(argv: [String]) throws {
        let arguments = RunExecution.remoteReloadArguments(
            .command(arguments: argv, pidfile: nil),
            timeout: .seconds(5)
        )
        #expect(arguments == ["reload", "--reload-command=" + ShellQuoting.command(argv), "--timeout", "5s"])
        // What the host's pgwarden makes of it: swift-argument-parser takes `--name=value` whole.
        #expect(CommandLineWords.split(String(arguments[1].dropFirst("--reload-command=".count))) == argv)
    }

    @Test("a remote reload argv longer than ssh and the host's shell can pass is refused when the file is read")
    func remoteCommandTooLong() throws {
        let entry = { (word: String) in
            "[[app_servers]]\nkind = \"command\"\nhost = \"web1\"\nreload = [\"/usr/bin/reload\", \"\(word)\"]\n"
        }
        // 100 kB passes (the repro's working size); 140 kB would fail at run time with E2BIG.
        #expect(try settings(entry(String(repeating: "x", count: 100_000))).appServers.count == 1)
        #expect {
            try settings(entry(String(repeating: "x", count: 140_000)))
        } throws: { error in
            let text = "\(error)"
            return text.contains("app_servers[1]") && text.contains("reload") && text.contains("too long")
                && !text.contains("\n") && text.count < 400
        }
        // Here, not through ssh: a word the kernel cannot pass is refused too, a long argv of short words is not.
        let local = { (words: [String]) in
            "[[app_servers]]\nkind = \"command\"\nreload = [\"/usr/bin/reload\", "
                + words.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n"
        }
        #expect(throws: (any Error).self) { try settings(local([String(repeating: "x", count: 140_000)])) }
        #expect(
            try settings(local(Array(repeating: String(repeating: "x", count: 1000), count: 140))).appServers.count == 1
        )
    }
}
