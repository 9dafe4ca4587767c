import Foundation
import TestSupport
import Testing
import WardenSupport

/// A slow link to one host, against the connect timeout and the step timeout. This kernel may refuse `tc netem`
/// (no `sch_netem`): the link is then slowed in user space, by an ssh `ProxyCommand` relay that holds every chunk
/// of bytes, each way, for the link's delay before passing it on (the connection itself opened after one delay).
extension FleetUpgradeTests {
    /// The relay: `relay.py DELAY HOST PORT`, standard input and output to the connection.
    static let relay = """
        import os, socket, sys, threading, time
        delay, host, port = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        time.sleep(delay)
        conn = socket.create_connection((host, port))
        def pump(read, write, done):
            while True:
                data = read()
                if not data:
                    break
                time.sleep(delay)
                write(data)
            done()
        def send(data):
            conn.sendall(data)
        def out(data):
            os.write(1, data)
        up = threading.Thread(target=pump, args=(lambda: os.read(0, 65536), send,
                                                 lambda: conn.shutdown(socket.SHUT_WR)), daemon=True)
        up.start()
        pump(lambda: conn.recv(65536), out, lambda: None)
        """

    /// An ssh configuration where host `index` is reached through the relay with `delay` seconds each way.
    func slowLinkConfig(_ hosts: SSHHosts, to index: Int, delay: Double) throws -> String {
        let relay = hosts.directory + "/relay.py"
        try Self.relay.write(toFile: relay, atomically: true, encoding: .utf8)
        let path = hosts.directory + "/ssh_config_slow"
        // The first value ssh obtains wins: this block comes before the hosts' own.
        let block = "Host \(hosts.hosts[index].name)\n  ProxyCommand /usr/bin/python3 \(relay) \(delay) %h %p\n"
        try (block + String(contentsOfFile: hosts.sshConfig, encoding: .utf8))
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The deployment file with `keys` added at the top level.
    func config(_ hosts: SSHHosts, sshConfig: String, adding keys: String) throws -> String {
        let path = try config(hosts, sshConfig: sshConfig)
        try (keys + "\n" + String(contentsOfFile: path, encoding: .utf8)).write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        return path
    }

    @Test("a link slower than connect_timeout: the error names the host, bounded by it; nothing paused anywhere")
    func slowLinkConnectTimeout() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let ssh = try slowLinkConfig(hosts, to: 1, delay: 4)
        let path = try config(hosts, sshConfig: ssh, adding: "")
        try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "connect_timeout = \"5s\"", with: "connect_timeout = \"2s\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        try await ScratchDatabase.with { database in
            let started = ContinuousClock.now
            let run = try await PGWardenCommand.run(upgrade(database, path, hosts))
            let elapsed = ContinuousClock.now - started
            #expect(run.status != 0)
            #expect(run.standardError.hasPrefix("error:") && run.standardError.contains("h2"), "\(run.standardError)")
            #expect(run.standardError.contains("cannot reach h2 through ssh"), "\(run.standardError)")
            #expect(elapsed < .seconds(30), "\(elapsed)")
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("a link slower than remote_step_timeout: the error names the host and the timeout; nothing paused")
    func slowLinkStepTimeout() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        // Each of the many round trips of an ssh session takes 2 × 1 s: connected within 5 s, not done in 8 s (the
        // other hosts, not slowed, answer well within it even on a loaded machine).
        let ssh = try slowLinkConfig(hosts, to: 2, delay: 1)
        let path = try config(hosts, sshConfig: ssh, adding: "remote_step_timeout = \"8s\"")
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, path, hosts))
            #expect(run.status != 0)
            #expect(run.standardError.contains("h3 did not answer within 8s (step timeout)"), "\(run.standardError)")
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }

    @Test("a slow link within the timeouts: the run goes through, every host restored byte for byte")
    func slowLinkWithinTimeouts() async throws {
        let hosts = try await hosts()
        defer { hosts.remove() }
        let ssh = try slowLinkConfig(hosts, to: 0, delay: 0.05)
        let path = try config(hosts, sshConfig: ssh, adding: "remote_step_timeout = \"60s\"")
        try await ScratchDatabase.with { database in
            let run = try await PGWardenCommand.run(upgrade(database, path, hosts))
            #expect(run.status == 0, "\(run.standardError)")
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "1\n1\n1\n")
            #expect(try await allRestored(hosts))
        }
        try await hosts.stopAll()
    }
}
