import Foundation
import TestSupport
import Testing
import WardenSupport

/// A host in a network namespace of its own, the test's, whose link `tc netem` slows (`delay` on its loopback, so
/// each way), against the connect timeout and the step timeout. ssh reaches it through a relay run inside that
/// namespace (`nsenter --net`). A kernel without `sch_netem` refuses the qdisc: the test is then skipped, saying so,
/// unless `PGWARDEN_TEST_SLOW_LINK=relay`, where the relay itself holds each chunk for the delay (the namespace's
/// plumbing exercised all the same).
extension FleetUpgradeTests {
    /// Why `tc netem` cannot slow a link here; `nil` when it can.
    static let netemRefusal: String? = {
        let probe = try? TestCrontab.run(
            "/usr/bin/unshare",
            ["--net", "/bin/sh", "-c", "ip link set lo up && tc qdisc add dev lo root netem delay 1ms"]
        )
        guard let probe else { return "unshare --net could not be run" }
        if probe.status == 0 { return nil }
        return "the kernel refuses tc netem (\(probe.error.trimmingCharacters(in: .whitespacesAndNewlines)))"
    }()

    static var relayInstead: Bool { ProcessInfo.processInfo.environment["PGWARDEN_TEST_SLOW_LINK"] == "relay" }

    /// Slows the link of host `index` (in its own network namespace) by `delay` seconds each way; returns the
    /// ssh configuration reaching it through its namespace.
    func slowNamespace(_ hosts: SSHHosts, _ index: Int, delay: Double) async throws -> String {
        let pid = try #require(hosts.pid(index))
        var relayDelay = 0.0
        if Self.netemRefusal == nil {
            let result = try await TestCrontab.runOffPool(
                "/usr/bin/nsenter",
                [
                    "--net=/proc/\(pid)/ns/net", "/usr/sbin/tc", "qdisc", "replace", "dev", "lo", "root", "netem",
                    "delay", "\(Int(delay * 1000))ms",
                ]
            )
            try #require(result.status == 0, "tc netem: \(result.error)")
        } else {
            relayDelay = delay
        }
        let relay = hosts.directory + "/relay.py"
        try Self.relay.write(toFile: relay, atomically: true, encoding: .utf8)
        let path = hosts.directory + "/ssh_config_netns"
        let block = """
            Host \(hosts.hosts[index].name)
              ProxyCommand /usr/bin/nsenter --net=/proc/\(pid)/ns/net /usr/bin/python3 \(relay) \(relayDelay) %h %p

            """
        try (block + String(contentsOfFile: hosts.sshConfig, encoding: .utf8))
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(
        "a host in a network namespace of its own behind tc netem: fine within the timeouts, named past each",
        .enabled(
            if: netemRefusal == nil || relayInstead,
            Comment(rawValue: "\(netemRefusal ?? ""); PGWARDEN_TEST_SLOW_LINK=relay slows it by a relay")
        )
    )
    func netemLink() async throws {
        let hosts = try await SSHHosts(count: 3, ownNetwork: [2])
        defer { hosts.remove() }
        for index in 0..<3 {
            try await hosts.installCrontab(index, Self.crontab(hosts.hosts[index].name), for: user)
        }
        try await ScratchDatabase.with { database in
            // A link of 50 ms each way, within the timeouts: the run goes through.
            var ssh = try await slowNamespace(hosts, 2, delay: 0.05)
            let fine = try await PGWardenCommand.run(
                upgrade(database, try config(hosts, sshConfig: ssh, adding: "remote_step_timeout = \"60s\""), hosts)
            )
            #expect(fine.status == 0, "\(fine.standardError)")
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "1\n1\n1\n")
            #expect(try await allRestored(hosts))
            try FileManager.default.removeItem(atPath: marker)

            // 1 s each way: connected within 5 s, an ssh session's round trips not done within 8 s.
            ssh = try await slowNamespace(hosts, 2, delay: 1)
            let step = try await PGWardenCommand.run(
                upgrade(database, try config(hosts, sshConfig: ssh, adding: "remote_step_timeout = \"8s\""), hosts)
            )
            #expect(step.status != 0)
            #expect(step.standardError.contains("h3 did not answer within 8s (step timeout)"), "\(step.standardError)")

            // 1.5 s each way: not even the server's banner within a connect timeout of 2 s.
            ssh = try await slowNamespace(hosts, 2, delay: 1.5)
            let path = try config(hosts, sshConfig: ssh, adding: "")
            try String(contentsOfFile: path, encoding: .utf8)
                .replacingOccurrences(of: "connect_timeout = \"5s\"", with: "connect_timeout = \"2s\"")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let connect = try await PGWardenCommand.run(upgrade(database, path, hosts))
            #expect(connect.status != 0)
            #expect(connect.standardError.contains("cannot reach h3 through ssh"), "\(connect.standardError)")
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }
}
