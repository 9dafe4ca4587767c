import Foundation

/// A PostgreSQL cluster of one test's own, for tests that stop and restart the server.
package final class PrivateCluster: Sendable {
    /// Where it lives.
    package let directory: String
    /// Its port (it listens on a socket in ``directory``).
    package let port: Int

    private static let binaries = ProcessInfo.processInfo.environment["PGWARDEN_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"

    /// Creates and starts a cluster, with `settings` (`postgresql.conf` lines) added to its configuration.
    package init(settings extraSettings: [String] = []) throws {
        directory = "/tmp/pgwarden-private-" + UUID().uuidString.prefix(8).lowercased()
        port = Int.random(in: 40000...60000)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.asServer("/bin/chown", ["postgres:", directory], asRoot: true)
        try Self.asServer(
            Self.binaries + "/initdb",
            ["-D", directory + "/data", "-U", "postgres", "--auth=trust", "--no-sync"]
        )
        let settings = """
            port = \(port)
            listen_addresses = ''
            unix_socket_directories = '\(directory)'
            fsync = off

            """ + extraSettings.map { $0 + "\n" }.joined()
        let configuration = directory + "/data/postgresql.conf"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: configuration))
        handle.seekToEndOfFile()
        handle.write(Data(settings.utf8))
        try handle.close()
        try start()
    }

    /// A connection string for its `postgres` database.
    package var connectionString: String { connectionString(user: "postgres") }

    /// A connection string for its `postgres` database as `user`.
    package func connectionString(user: String) -> String {
        "host=\(directory) port=\(port) dbname=postgres user=\(user)"
    }

    /// Starts the server and waits until it accepts connections.
    package func start() throws {
        try Self.asServer(
            Self.binaries + "/pg_ctl",
            ["-D", directory + "/data", "-l", directory + "/log", "-w", "start"]
        )
    }

    /// Stops the server (fast shutdown) and waits until it is down.
    package func stop() throws {
        try Self.asServer(Self.binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
    }

    /// Stops the server and deletes the cluster.
    package func destroy() {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a server program (as the postgres user when root) through a launcher that closes every
    /// inherited descriptor: the postmaster outlives the call, and must not hold other tests' pipes open.
    private static func asServer(_ executable: String, _ arguments: [String], asRoot: Bool = false) throws {
        let command =
            asRoot || getuid() != 0
            ? [executable] + arguments : ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments
        let launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], close_fds=True))"
        let result = try TestCrontab.run("/usr/bin/python3", ["-c", launcher] + command)
        guard result.status == 0 else {
            throw TestSupportError("\(executable) failed: \(result.error)\(result.output)")
        }
    }
}
