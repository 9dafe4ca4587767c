import Foundation

/// A real gunicorn (Debian's) on a free loopback port, serving ``UWSGIServer/application`` with sync workers, a
/// pidfile and a log beside it; stopped by its master's pid at the end.
package final class GunicornServer: Sendable {
    package let directory: String
    package let port: UInt16
    package var pidfile: String { directory + "/gunicorn.pid" }

    /// Starts gunicorn with `workers` workers and waits until it answers. Each worker takes `loading` seconds to
    /// load the application (as a real one does), before it can serve.
    /// `timeout` is gunicorn's `--timeout`: an idle worker's heartbeat beats every half of it.
    package init(workers: Int = 2, loading: Double = 0, timeout: Int = 30) async throws {
        directory = NSTemporaryDirectory() + "pgwarden-gunicorn-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ("import time\ntime.sleep(\(loading))\n" + UWSGIServer.application)
            .write(toFile: directory + "/app.py", atomically: true, encoding: .utf8)
        port = try HTTPProbe.freePort()
        let arguments = [
            "/usr/bin/gunicorn", "--workers", "\(workers)", "--bind", "127.0.0.1:\(port)", "--pid", pidfile,
            "--chdir", directory, "--graceful-timeout", "30", "--timeout", "\(timeout)", "--backlog", "128", "--daemon",
            "--log-file", directory + "/gunicorn.log", "app:application",
        ]
        // Through a launcher that closes inherited descriptors (gunicorn outlives the call) and unblocks every
        // signal: a test runner's thread may block SIGHUP, and a blocked signal stays blocked across exec, where a
        // service manager starts gunicorn with none blocked.
        let launcher = """
            import signal, subprocess, sys
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            sys.exit(subprocess.call(sys.argv[1:], close_fds=True))
            """
        let result = try await TestCrontab.runOffPool("/usr/bin/python3", ["-c", launcher] + arguments)
        guard result.status == 0 else { throw TestSupportError("gunicorn failed to start: \(result.error)") }
        try await eventually("gunicorn answers on port \(port) with \(workers) workers") {
            (try? HTTPProbe.get(port: self.port, path: "/"))?.status == 200 && self.workerPIDs.count == workers
        }
    }

    /// Whether a `/slow` request has begun.
    package var slowRequestStarted: Bool { FileManager.default.fileExists(atPath: directory + "/slow-started") }

    /// The master's pid.
    package var masterPID: Int32? {
        (try? String(contentsOfFile: pidfile, encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// The master's children: its workers.
    package var workerPIDs: [Int32] {
        masterPID.map(UWSGIServer.children) ?? []
    }

    deinit {
        if let master = masterPID { kill(master, SIGTERM) }
    }

    /// Stops gunicorn by its master's pid and waits for it to go.
    package func stop() async {
        guard let master = masterPID else { return }
        kill(master, SIGTERM)
        try? await eventually("gunicorn stops") { kill(master, 0) != 0 }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
