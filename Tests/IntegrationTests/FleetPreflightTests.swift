import Foundation
import TestSupport
import Testing

/// The preflight of a deployment file's hosts (real sshd instances, each with its own crontab spool, journal and
/// `/run`): one ssh call per host answers everything (version, each set's plan, each app server's check, the host's
/// identity); a remote app server that cannot be reloaded, and two names of one host, are refused before anything
/// changes.
@Suite("Preflight of hosts", .serialized, .enabled(if: TestCrontab.isAvailable, TestCrontab.unavailableReason))
struct FleetPreflightTests {
    let user = TestCrontab.fleetUser
    let stateDirectory = NSTemporaryDirectory() + "pgwarden-fleet-preflight-" + UUID().uuidString
    let marker = NSTemporaryDirectory() + "pgwarden-fleet-preflight-ran-" + UUID().uuidString
    static let crontab = "MAILTO=ops@example.org\n*/5 * * * * /home/app/bin/app-cli process\n"

    func hosts(_ count: Int = 3) async throws -> SSHHosts {
        let hosts = try await SSHHosts(count: count)
        for index in 0..<count { try await hosts.installCrontab(index, Self.crontab, for: user) }
        return hosts
    }

    /// A crontab set on each of `workerHosts` (by alias), then `extra` as it is.
    func config(_ hosts: SSHHosts, workerHosts: [String]? = nil, sshConfig: String? = nil, extra: String = "") throws
        -> String
    {
        var text = """
            ssh_config = "\(sshConfig ?? hosts.sshConfig)"
            remote_pgwarden = "\(PGWardenCommand.executable.path)"
            connect_timeout = "5s"
            remote_resume_retry = "1s"
            reload = "before"

            """
        for host in workerHosts ?? hosts.hosts.map(\.name) {
            text += "\n[[workers]]\nkind = \"crontab\"\nuser = \"\(user)\"\nmatch = [\"app-cli\"]\nhost = \"\(host)\"\n"
        }
        text += extra
        let path = stateDirectory + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func upgrade(_ database: ScratchDatabase, _ config: String, _ extra: [String] = []) -> [String] {
        [
            "upgrade", "--dsn", database.connectionString, "--config", config, "--state-dir", stateDirectory,
            "--no-interactive",
        ] + extra + ["--", "/bin/sh", "-c", "touch \(marker)"]
    }

    /// How many ssh sessions host `index`'s sshd has accepted (its log, at sshd's default level).
    static func sessions(_ hosts: SSHHosts, _ index: Int) -> Int {
        let log = (try? String(contentsOfFile: hosts.hosts[index].directory + "/sshd.log", encoding: .utf8)) ?? ""
        return log.components(separatedBy: "Accepted publickey").count - 1
    }

    func untouched(_ hosts: SSHHosts) async throws -> Bool {
        for index in hosts.hosts.indices where try await hosts.crontab(index, of: user) != Self.crontab {
            return false
        }
        return !FileManager.default.fileExists(atPath: marker)
    }

    @Test("the preflight asks each host once: version, plan and app server in one ssh call")
    func oneCallPerHost() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let server = "\n[[app_servers]]\nkind = \"command\"\nreload = [\"/bin/true\"]\nhost = \"h2\"\n"
        try await ScratchDatabase.with { database in
            let clock = ContinuousClock()
            let start = clock.now
            let dry = try await PGWardenCommand.run(upgrade(database, try config(hosts, extra: server), ["--dry-run"]))
            let elapsed = clock.now - start
            #expect(dry.status == 0, "\(dry.standardError)")
            for index in hosts.hosts.indices {
                #expect(Self.sessions(hosts, index) == 1, "h\(index + 1): \(Self.sessions(hosts, index)) ssh sessions")
            }
            print("dry run across 3 hosts (one set each, an app server on h2): \(elapsed)")
            #expect(try await untouched(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("a remote gunicorn whose pidfile is missing, or a command that does not exist there: refused in preflight")
    func remoteAppServerChecked() async throws {
        let hosts = try await hosts(2)
        defer { hosts.remove() }
        let cases = [
            ("kind = \"gunicorn\"\npidfile = \"/run/gunicorn/app.pid\"", "/run/gunicorn/app.pid"),
            ("kind = \"command\"\nreload = [\"/usr/local/sbin/no-such-reload\"]", "no-such-reload"),
        ]
        try await ScratchDatabase.with { database in
            for (server, named) in cases {
                let extra = "\n[[app_servers]]\n\(server)\nhost = \"h2\"\n"
                let run = try await PGWardenCommand.run(upgrade(database, try config(hosts, extra: extra)))
                #expect(run.status != 0)
                let errors = run.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
                #expect(errors.count == 1, "\(run.standardError)")
                #expect(errors.first?.contains("h2") == true, "\(run.standardError)")
                #expect(errors.first?.contains(named) == true, "\(run.standardError)")
                #expect(try await untouched(hosts))
            }
        }
        try await hosts.stopAll()
    }

    @Test("an alias beside another name of the same host: one error naming both entries; nothing changes")
    func twoNamesOfOneHost() async throws {
        let hosts = try await hosts(2)
        defer { hosts.remove() }
        let first = hosts.hosts[0]
        let original = try String(contentsOfFile: hosts.sshConfig, encoding: .utf8)
        let port = original.split(separator: "\n").first { $0.contains("Port ") }.map(String.init) ?? ""
        let aliased = hosts.directory + "/ssh_config_alias"
        try "Host web1\n  HostName \(first.address)\n\(port)\n  User root\n  HostKeyAlias h1\n\n\(original)"
            .write(toFile: aliased, atomically: true, encoding: .utf8)
        try await ScratchDatabase.with { database in
            let config = try config(
                hosts,
                workerHosts: ["h1", "h2"],
                sshConfig: aliased,
                extra: """

                    [[workers]]
                    kind = "command"
                    pause = ["/bin/true"]
                    resume = ["/bin/true"]
                    host = "web1"

                    """
            )
            let run = try await PGWardenCommand.run(upgrade(database, config))
            #expect(run.status != 0)
            let errors = run.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1, "\(run.standardError)")
            #expect(errors.first?.contains("workers[1]") == true, "\(run.standardError)")
            #expect(errors.first?.contains("workers[3]") == true, "\(run.standardError)")
            #expect(errors.first?.contains("web1") == true && errors.first?.contains("h1") == true)
            #expect(try await untouched(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("a host with sets beyond what one ssh command line carries (128 KiB) is asked in parts; all are planned")
    func manySetsOnOneHost() async throws {
        let hosts = try await hosts(1)
        defer { hosts.remove() }
        let word = String(repeating: "x", count: 300)
        let sets = (1...400).map {
            "\n[[workers]]\nkind = \"command\"\npause = [\"/bin/true\", \"\($0)-\(word)\"]\nresume = [\"/bin/true\"]\nhost = \"h1\"\n"
        }
        try await ScratchDatabase.with { database in
            let config = try config(hosts, workerHosts: [], extra: sets.joined())
            let dry = try await PGWardenCommand.run(upgrade(database, config, ["--dry-run"]))
            #expect(dry.status == 0, "\(dry.standardError.prefix(600))")
            #expect(
                dry.standardOutput.contains("workers[400] (command /bin/true 400-"),
                "\(dry.standardOutput.suffix(600))"
            )
            #expect((2...4).contains(Self.sessions(hosts, 0)), "\(Self.sessions(hosts, 0)) ssh sessions")
            #expect(try await untouched(hosts))
        }
        try await hosts.stopAll()
    }
}
