import Foundation
import Synchronization

/// Several "hosts" made of real OpenSSH servers on this machine: each an `sshd` on a loopback address of its own
/// (`127.0.0.2`, `127.0.0.3`, …; the first three numbers from `PGWARDEN_TEST_SSH_NET`, so that parallel runs of the
/// tests never share an address) in a mount namespace of its own (`unshare --mount`), where private bind mounts give
/// it its own crontab spool (`/var/spool/cron/crontabs`), its own state directory (`/var/lib/pgwarden`) and its own
/// `/run`. Everything else (the pgwarden binary under test, the test users) is at the same path inside.
///
/// The test makes every key: a host key per host, listed in a `known_hosts` the hosts' `ssh_config` names
/// (`StrictHostKeyChecking yes`), and a client key for root. Nothing is sent to any address but these.
/// Each sshd runs in the foreground (`-D`, its log in `sshd.log`); it is ready when it says `Server listening`;
/// it is stopped by its pid.
package final class SSHHosts: Sendable {
    /// One host.
    package struct Host: Sendable {
        /// The alias in ``SSHHosts/sshConfig``: `h1`, `h2`, …
        package let name: String
        /// `127.0.0.2`, …
        package let address: String
        /// Its own directory: `crontabs/`, `state/`, `run/`, keys, `sshd_config`, `sshd.log`.
        package let directory: String
        /// Its crontab spool, seen from outside.
        package var spool: String { directory + "/crontabs" }
        /// Its state directory (`/var/lib/pgwarden` inside), seen from outside.
        package var stateDirectory: String { directory + "/state" }
    }

    package let directory: String
    package let port: UInt16
    package let hosts: [Host]
    /// The hosts in a network namespace of their own (`unshare --net`, its loopback brought up), by index: reached
    /// only from inside it (`nsenter --net=/proc/PID/ns/net`, PID from ``pid(_:)``), where `tc` may slow its link.
    package let ownNetwork: Set<Int>
    /// The file to hand to `ssh -F` (and to pgwarden's `ssh_config = "…"`).
    package var sshConfig: String { directory + "/ssh_config" }
    private let pids: Mutex<[Int32?]>

    /// The hosts' addresses but the last number: `PGWARDEN_TEST_SSH_NET` (`127.0.1`, say), or `127.0.0`.
    package static var net: String {
        let given = ProcessInfo.processInfo.environment["PGWARDEN_TEST_SSH_NET"] ?? ""
        let parts = given.split(separator: ".", omittingEmptySubsequences: false)
        let valid = parts.count == 3 && parts.first == "127" && parts.allSatisfy { UInt8($0) != nil }
        return valid ? given : "127.0.0"
    }

    /// Makes `count` hosts (at most 200) and starts each one's sshd, returning once every one listens; those in
    /// `ownNetwork` each in a network namespace of its own.
    package init(count: Int, ownNetwork: Set<Int> = []) async throws {
        precondition((1...200).contains(count))
        self.ownNetwork = ownNetwork
        let base = NSTemporaryDirectory() + "pgwarden-hosts-" + UUID().uuidString.prefix(8)
        directory = base
        port = try HTTPProbe.freePort()
        hosts = (1...count).map { number in
            Host(name: "h\(number)", address: "\(Self.net).\(number + 1)", directory: base + "/h\(number)")
        }
        pids = Mutex(Array(repeating: nil, count: count))
        try await onDedicatedThread { [self] in try makeFiles() }
        for index in hosts.indices { try await start(index) }
    }

    deinit {
        for pid in pids.withLock({ $0 }) { if let pid { kill(pid, SIGTERM) } }
    }

    /// Starts host `index`'s sshd again (after ``stop(_:)``), with the same keys, crontabs and journal.
    package func start(_ index: Int) async throws {
        let host = hosts[index]
        let log = host.directory + "/sshd.log"
        try? FileManager.default.removeItem(atPath: log)
        // Through a launcher that closes every inherited descriptor and leaves sshd in a session of its own, not a
        // child of this process: a long-lived child of Foundation's Process stalls the reaping of later ones, and
        // would hold the write end of pipes other tests' children were given meanwhile.
        let launcher = """
            import os, subprocess, sys
            os.closerange(3, 65536)
            child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
            print(child.pid)
            """
        let result = try await TestCrontab.runOffPool(
            "/usr/bin/python3",
            [
                "-c", launcher, "/usr/bin/env", "PGWARDEN_OWN_NETWORK=\(ownNetwork.contains(index) ? 1 : 0)",
                "/usr/bin/unshare",
            ]
                + (ownNetwork.contains(index) ? ["--net"] : [])
                + [
                    "--mount", "--propagation", "private", host.directory + "/enter",
                    "/usr/sbin/sshd", "-D", "-E", log, "-f", host.directory + "/sshd_config",
                ]
        )
        guard result.status == 0, let pid = Int32(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestSupportError("cannot start the sshd of \(host.name): \(result.error)")
        }
        pids.withLock { $0[index] = pid }
        // Ready: sshd says it listens (in its log, the readiness signal sshd gives); or it has gone.
        let ready = "Server listening on \(host.address) port \(port)"
        try await eventually("the sshd of \(host.name) listens") {
            let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if said.contains(ready) { return true }
            if kill(pid, 0) != 0 { throw TestSupportError("the sshd of \(host.name) exited: \(said)") }
            return false
        }
    }

    /// Stops host `index`'s sshd by its pid (sessions already open end by themselves) and waits for it to go.
    package func stop(_ index: Int) async throws {
        guard let pid = pids.withLock({ $0[index] }) else { return }
        pids.withLock { $0[index] = nil }
        kill(pid, SIGTERM)
        try await eventually("sshd of \(hosts[index].name) (pid \(pid)) has exited") {
            kill(pid, 0) != 0
        }
    }

    /// The pid of host `index`'s sshd, while it runs.
    package func pid(_ index: Int) -> Int32? { pids.withLock { $0[index] } }

    /// Stops every host.
    package func stopAll() async throws {
        for index in hosts.indices { try await stop(index) }
    }

    /// Runs `argv` inside host `index`'s mount namespace (a fresh one with the same binds, so it works whether or not
    /// its sshd runs): `crontab -u USER -l` there reads that host's spool.
    package func run(
        _ index: Int,
        _ argv: [String],
        input: String? = nil
    ) async throws -> (status: Int32, output: String, error: String) {
        try await TestCrontab.runOffPool(
            "/usr/bin/unshare",
            ["--mount", "--propagation", "private", hosts[index].directory + "/enter"] + argv,
            input: input
        )
    }

    /// `user`'s crontab on host `index`; empty when there is none.
    package func crontab(_ index: Int, of user: String) async throws -> String {
        let result = try await run(index, ["/usr/bin/crontab", "-u", user, "-l"])
        if result.status != 0, result.error.hasPrefix("no crontab") { return "" }
        guard result.status == 0 else { throw TestSupportError("crontab -l on \(hosts[index].name): \(result.error)") }
        return result.output
    }

    /// Installs `text` as `user`'s crontab on host `index`.
    package func installCrontab(_ index: Int, _ text: String, for user: String) async throws {
        let result = try await run(index, ["/usr/bin/crontab", "-u", user, "-"], input: text)
        guard result.status == 0 else { throw TestSupportError("crontab - on \(hosts[index].name): \(result.error)") }
    }

    /// Replaces host `index`'s host key (a host key that changed, as after a reinstall); restart it to take effect.
    package func changeHostKey(_ index: Int) throws {
        let key = hosts[index].directory + "/host_key"
        try? FileManager.default.removeItem(atPath: key)
        try? FileManager.default.removeItem(atPath: key + ".pub")
        try Self.check(TestCrontab.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]))
    }

    /// Removes every file of the hosts (after ``stopAll()``).
    package func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func makeFiles() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.check(
            TestCrontab.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", directory + "/client_key"])
        )
        try FileManager.default.copyItem(atPath: directory + "/client_key.pub", toPath: directory + "/authorized_keys")
        var knownHosts = ""
        var config = ""
        for host in hosts {
            for sub in ["crontabs", "state", "run"] {
                try FileManager.default.createDirectory(
                    atPath: host.directory + "/" + sub,
                    withIntermediateDirectories: true
                )
            }
            // As Debian's spool: root:crontab, 1730.
            try Self.check(TestCrontab.run("/bin/chown", ["root:crontab", host.spool]))
            try Self.check(TestCrontab.run("/bin/chmod", ["1730", host.spool]))
            try Self.check(
                TestCrontab.run(
                    "/usr/bin/ssh-keygen",
                    ["-q", "-t", "ed25519", "-N", "", "-f", host.directory + "/host_key"]
                )
            )
            let publicKey = try String(contentsOfFile: host.directory + "/host_key.pub", encoding: .utf8)
            knownHosts += host.name + " " + publicKey.split(separator: " ").prefix(2).joined(separator: " ") + "\n"
            config +=
                "Host \(host.name)\n  HostName \(host.address)\n  Port \(port)\n  User root\n  HostKeyAlias \(host.name)\n"
            try """
            ListenAddress \(host.address):\(port)
            HostKey \(host.directory)/host_key
            PidFile none
            AuthorizedKeysFile \(directory)/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            MaxStartups 100:30:200
            MaxSessions 50

            """.write(toFile: host.directory + "/sshd_config", atomically: true, encoding: .utf8)
            // The host's private mounts, then the program: sshd, or a command run "on" the host.
            try """
            #!/bin/sh
            h=$(dirname "$0")
            mkdir -p /var/lib/pgwarden
            if [ "$PGWARDEN_OWN_NETWORK" = 1 ]; then ip link set lo up || exit 112; fi
            mount --bind "$h/crontabs" /var/spool/cron/crontabs && mount --bind "$h/state" /var/lib/pgwarden \\
                && mount --bind "$h/run" /run && mkdir -p /run/sshd || exit 111
            exec "$@"

            """.write(toFile: host.directory + "/enter", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: host.directory + "/enter")
        }
        try knownHosts.write(toFile: directory + "/known_hosts", atomically: true, encoding: .utf8)
        config += """
            Host *
              IdentityFile \(directory)/client_key
              IdentitiesOnly yes
              UserKnownHostsFile \(directory)/known_hosts
              GlobalKnownHostsFile /dev/null
              StrictHostKeyChecking yes
              BatchMode yes

            """
        try config.write(toFile: sshConfig, atomically: true, encoding: .utf8)
    }

    private static func check(_ result: (status: Int32, output: String, error: String)) throws {
        guard result.status == 0 else { throw TestSupportError("setting up the ssh hosts: \(result.error)") }
    }
}
