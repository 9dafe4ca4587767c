import Foundation

/// A private supervisord (Debian's `supervisor`) with its own configuration and socket in a temporary
/// directory: a group `app-worker` of two programs and a program `report`, running as `user`; stopped by its
/// pid at the end.
package final class SupervisordServer: Sendable {
    package let directory: String
    package var config: String { directory + "/supervisord.conf" }
    package var socket: String { directory + "/supervisor.sock" }
    package var pidfile: String { directory + "/supervisord.pid" }

    /// Whether supervisord is installed.
    package static let isAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/supervisord")

    /// Starts supervisord; returns once every program is RUNNING. `stopwaitsecs` is each program's.
    ///
    /// On SIGTERM each worker finishes its current job (`jobSeconds` long) and then exits 0, as a queue consumer
    /// draining does.
    package init(user: String, stopwaitsecs: Int = 10, jobSeconds: Double = 0) async throws {
        directory = NSTemporaryDirectory() + "pgwarden-supervisord-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A worker that traps SIGTERM and finishes its current "job" (a short sleep) first, as a queue consumer does.
        let worker = """
            import signal, sys, time
            stopping = []
            signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
            while not stopping: time.sleep(0.05)
            time.sleep(\(jobSeconds))
            sys.exit(0)

            """
        try worker.write(toFile: directory + "/worker.py", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/worker.py")
        func program(_ name: String) -> String {
            """
            [program:\(name)]
            command=/usr/bin/python3 \(directory)/worker.py \(name)
            user=\(user)
            autostart=true
            startsecs=1
            stopwaitsecs=\(stopwaitsecs)
            stdout_logfile=\(directory)/\(name).log
            redirect_stderr=true

            """
        }
        let text = """
            [unix_http_server]
            file=\(socket)
            chmod=0700

            [supervisord]
            logfile=\(directory)/supervisord.log
            pidfile=\(pidfile)
            childlogdir=\(directory)

            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

            [supervisorctl]
            serverurl=unix://\(socket)

            \(program("worker-a"))\(program("worker-b"))\(program("report"))
            [group:app-worker]
            programs=worker-a,worker-b

            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        // Through a launcher that unblocks every signal (a test runner's thread may block SIGTERM, and a blocked
        // signal stays blocked across exec) and leaves the daemon no descriptor of ours (it outlives the call).
        let launcher = """
            import signal, subprocess, sys
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            sys.exit(subprocess.call(sys.argv[1:], close_fds=True, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            """
        let result = try await TestCrontab.runOffPool(
            "/usr/bin/python3",
            ["-c", launcher, "/usr/bin/supervisord", "-c", config]
        )
        guard result.status == 0 else {
            let log = (try? String(contentsOfFile: directory + "/supervisord.log", encoding: .utf8)) ?? ""
            throw TestSupportError("supervisord failed to start (\(result.status)): \(log.suffix(500))")
        }
        try await eventually("supervisord runs its three programs") {
            (try? self.states()).map { $0.values.allSatisfy { $0 == "RUNNING" } && $0.count == 3 } ?? false
        }
    }

    /// `supervisorctl status`: each program's state.
    package func states() throws -> [String: String] {
        try status().mapValues(\.state)
    }

    /// `supervisorctl status`: each program's state and pid (while running).
    package func status() throws -> [String: (state: String, pid: Int32?)] {
        let result = try TestCrontab.run("/usr/bin/supervisorctl", ["-c", config, "status"])
        var found: [String: (state: String, pid: Int32?)] = [:]
        for line in result.output.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 2 else { continue }
            let pid = words.count >= 4 && words[2] == "pid" ? Int32(words[3].dropLast()) : nil
            found[String(words[0])] = (String(words[1]), pid)
        }
        guard !found.isEmpty else { throw TestSupportError("supervisorctl status: \(result.output) \(result.error)") }
        return found
    }

    /// `supervisorctl ARGS…`.
    @discardableResult
    package func control(_ arguments: [String]) throws -> Int32 {
        try TestCrontab.run("/usr/bin/supervisorctl", ["-c", config] + arguments).status
    }

    package var supervisordPID: Int32? {
        (try? String(contentsOfFile: pidfile, encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    deinit {
        if let pid = supervisordPID { kill(pid, SIGTERM) }
    }

    /// Stops supervisord (and its programs) by its pid and waits for it to go.
    package func stop() async {
        guard let pid = supervisordPID else { return }
        kill(pid, SIGTERM)
        try? await eventually("supervisord stops") { kill(pid, 0) != 0 }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
