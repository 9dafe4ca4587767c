import Foundation
import TestSupport
import Testing

/// App servers on two hosts (sshd instances; a real gunicorn for each): reloaded one host at a time by each host's
/// `pgwarden reload`, through ssh; the first failure stops the rolling reload and says which hosts run what.
@Suite("Rolling reload across hosts", .serialized, .enabled(if: TestCrontab.isAvailable, TestCrontab.unavailableReason))
struct FleetReloadTests {
    let user = TestCrontab.fleetUser
    let stateDirectory = NSTemporaryDirectory() + "pgwarden-fleet-reload-" + UUID().uuidString
    static let crontab = "*/5 * * * * /home/app/bin/app-cli process\n"

    /// Workers on the first `workerHosts` hosts; app server `N` on host `N`.
    func config(_ hosts: SSHHosts, pidfiles: [String], workerHosts: Int = 1) throws -> String {
        var text = """
            ssh_config = "\(hosts.sshConfig)"
            remote_pgwarden = "\(PGWardenCommand.executable.path)"
            remote_resume_retry = "1s"
            reload = "before"

            """
        for host in hosts.hosts.prefix(workerHosts) {
            text +=
                "\n[[workers]]\nkind = \"crontab\"\nuser = \"\(user)\"\nmatch = [\"app-cli\"]\nhost = \"\(host.name)\"\n"
        }
        for (index, pidfile) in pidfiles.enumerated() {
            text += "\n[[app_servers]]\nkind = \"gunicorn\"\npidfile = \"\(pidfile)\"\nhost = \"h\(index + 1)\"\n"
        }
        let path = stateDirectory + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func upgrade(_ database: ScratchDatabase, _ config: String) -> [String] {
        [
            "upgrade", "--dsn", database.connectionString, "--config", config, "--state-dir", stateDirectory,
            "--no-interactive", "--", "/bin/true",
        ]
    }

    @Test("each host's gunicorn reloaded in turn, its old workers gone before the next; workers resumed")
    func rollingReload() async throws {
        let hosts = try await SSHHosts(count: 2)
        defer { hosts.remove() }
        try await hosts.installCrontab(0, Self.crontab, for: user)
        let first = try await GunicornServer(workers: 2)
        let second = try await GunicornServer(workers: 2)
        let before = (first.workerPIDs, second.workerPIDs)
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(
                upgrade(database, try config(hosts, pidfiles: [first.pidfile, second.pidfile]))
            )
            #expect(run.status == 0, "\(run.standardOutput) \(run.standardError)")
            let said = run.standardOutput + run.standardError
            #expect(said.contains("reload gunicorn on h1") && said.contains("reload gunicorn on h2"), "\(said)")
            #expect(Set(first.workerPIDs).isDisjoint(with: before.0) && first.workerPIDs.count == 2)
            #expect(Set(second.workerPIDs).isDisjoint(with: before.1) && second.workerPIDs.count == 2)
            #expect(try await hosts.crontab(0, of: user) == Self.crontab)
        }
        await first.stop()
        await second.stop()
        try await hosts.stopAll()
    }

    @Test("the second host's reload fails: stopped there, the hosts on new and old workers named, workers resumed")
    func failureStopsTheRoll() async throws {
        let hosts = try await SSHHosts(count: 2)
        defer { hosts.remove() }
        try await hosts.installCrontab(0, Self.crontab, for: user)
        let first = try await GunicornServer(workers: 1)
        try await ScratchDatabase.with { database in
            // h2's app server passes preflight (its program exists there) and fails its reload.
            let path = try config(hosts, pidfiles: [first.pidfile])
            try
                (try String(contentsOfFile: path, encoding: .utf8)
                + "\n[[app_servers]]\nkind = \"command\"\nreload = [\"/bin/false\"]\nhost = \"h2\"\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let run = try await PGWardenCommand.run(upgrade(database, path))
            #expect(run.status != 0)
            let said = run.standardOutput + run.standardError
            #expect(said.contains("new workers on h1; old workers on h2"), "\(said)")
            #expect(try await hosts.crontab(0, of: user) == Self.crontab)
        }
        await first.stop()
        try await hosts.stopAll()
    }

    @Test(
        "three hosts' workers, two gunicorns under load: all paused, reloaded in turn with no failed request, all resumed"
    )
    func underLoad() async throws {
        let hosts = try await SSHHosts(count: 3)
        defer { hosts.remove() }
        for index in 0..<3 { try await hosts.installCrontab(index, Self.crontab, for: user) }
        let servers = [
            try await GunicornServer(workers: 2, loading: 1), try await GunicornServer(workers: 2, loading: 1),
        ]
        let before = servers.map(\.workerPIDs)
        let loads = servers.map { HTTPLoad(port: $0.port) }
        try await eventually("requests flow to both") { loads.allSatisfy { $0.succeeded >= 20 } }
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(
                upgrade(database, try config(hosts, pidfiles: servers.map(\.pidfile), workerHosts: 3))
            )
            #expect(run.status == 0, "\(run.standardOutput) \(run.standardError)")
            let counts = loads.map(\.succeeded)
            try await eventually("requests flow after the reloads") {
                zip(loads, counts).allSatisfy { $0.succeeded >= $1 + 20 }
            }
            for load in loads {
                try await load.stop()
                load.expectNoFailedRequests()
            }
            let said = run.standardOutput
            let first = said.range(of: "reload gunicorn on h1")
            let second = said.range(of: "reload gunicorn on h2")
            #expect(first != nil && second != nil && first!.lowerBound < second!.lowerBound, "\(said)")
            for (server, old) in zip(servers, before) {
                #expect(Set(server.workerPIDs).isDisjoint(with: old) && server.workerPIDs.count == 2)
            }
            for index in 0..<3 { #expect(try await hosts.crontab(index, of: user) == Self.crontab) }
        }
        for server in servers { await server.stop() }
        try await hosts.stopAll()
    }
}
