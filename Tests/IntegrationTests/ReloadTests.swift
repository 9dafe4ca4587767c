import Foundation
import TestSupport
import Testing

/// `pgwarden reload` against a real uWSGI under load.
@Suite("pgwarden reload", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct ReloadTests {
    func reloadUnderLoad(_ target: (UWSGIServer) -> [String]) async throws {
        try await reloadUnderLoad(try await UWSGIServer(), "uWSGI", target)
    }

    func reloadUnderLoad<Server: ReloadableServer>(
        _ server: Server,
        _ name: String,
        _ target: (Server) -> [String]
    ) async throws {
        let master = server.masterPID
        let before = server.workerPIDs
        let load = HTTPLoad(port: server.port)
        try await eventually("requests flow") { load.succeeded >= 20 }
        let slow = Task { try await HTTPProbe.getOffPool(port: server.port, path: "/slow") }
        try await eventually("the slow request is in flight") { server.slowRequestStarted }
        let beforeReload = load.succeeded

        let result = try await PGWardenCommand.run(["reload"] + target(server))
        // Returned once the new workers serve: the next request is answered at once, by one of them.
        let asked = ContinuousClock.now
        let next = try HTTPProbe.get(port: server.port, path: "/", timeoutSeconds: 5)
        let answeredIn = ContinuousClock.now - asked

        let after = server.workerPIDs
        #expect(next.status == 200 && Int32(next.body).map(after.contains) == true, "\(next), workers \(after)")
        #expect(answeredIn < .seconds(1), "the request sent as the reload returned took \(answeredIn)")
        try await eventually("requests flow after the reload") { load.succeeded >= beforeReload + 20 }
        try await load.stop()
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardOutput.hasPrefix("reloaded \(name) master \(master ?? -1) in "),
            "\(result.standardOutput)"
        )
        load.expectNoFailedRequests()
        #expect(server.masterPID == master)
        #expect(before.count == 2 && after.count == 2)
        #expect(Set(before).isDisjoint(with: after), "workers before \(before), after \(after)")
        #expect(try await slow.value.status == 200)  // the request in flight finished
        await server.stop()
    }

    @Test("by the master FIFO, under load: no request fails, the workers are new, the master is the same")
    func fifo() async throws {
        try await reloadUnderLoad { ["--uwsgi-fifo", $0.fifo] }
    }

    @Test("by the pidfile (SIGHUP), under load")
    func pidfile() async throws {
        try await reloadUnderLoad { ["--uwsgi-pidfile", $0.pidfile] }
    }

    @Test("gunicorn by its pidfile (SIGHUP), under load: no request fails; it returns once the new workers serve")
    func gunicorn() async throws {
        // Its workers take 4 s to load the application (the slow request in flight keeps an old one 2 s): a reload that returned when they merely ran would leave
        // the next request waiting.
        try await reloadUnderLoad(try await GunicornServer(loading: 4), "gunicorn") {
            ["--gunicorn-pidfile", $0.pidfile]
        }
    }

    @Test("gunicorn idle, its application quick to load: the reload returns at the new workers' first heartbeat")
    func gunicornIdle() async throws {
        // A worker that loads its application within a clock tick of its fork beats first within that tick too;
        // idle, its next beat comes half gunicorn's --timeout later: 60 s here, far beyond a loaded machine's boot.
        let server = try await GunicornServer(timeout: 120)
        let before = server.workerPIDs
        let started = ContinuousClock.now
        let result = try await PGWardenCommand.run(["reload", "--gunicorn-pidfile", server.pidfile])
        let took = ContinuousClock.now - started
        #expect(result.status == 0, "\(result.standardError)")
        #expect(took < .seconds(30), "the reload of an idle gunicorn took \(took)")
        #expect(Set(before).isDisjoint(with: server.workerPIDs))
        await server.stop()
    }

    @Test("by a command, then waiting as for the pidfile")
    func command() async throws {
        try await reloadUnderLoad {
            ["--reload-command", "kill -HUP \($0.masterPID ?? 0)", "--uwsgi-pidfile", $0.pidfile]
        }
    }

    @Test("--timeout: a reload held up by a long request is an error that says what still runs")
    func timeout() async throws {
        let server = try await UWSGIServer(processes: 1)
        let worker = server.workerPIDs.first ?? -1
        let slow = Task { try await HTTPProbe.getOffPool(port: server.port, path: "/hold", timeoutSeconds: 70) }
        try await eventually("the slow request is in flight") { server.slowRequestStarted }

        let result = try await PGWardenCommand.run(["reload", "--uwsgi-fifo", server.fifo, "--timeout", "300ms"])

        #expect(result.status == 1)
        #expect(
            result.standardError.hasPrefix(
                "error: the reload did not complete within 0.3 seconds: old workers still running: pid \(worker)"
            )
        )
        try server.release()
        #expect(try await slow.value.status == 200)
        await server.stop()
    }

    @Test("a pidfile naming a worker, not the master (gunicorn, uWSGI): refused, naming the pidfile and pid; no signal")
    func pidfileNamingAWorker() async throws {
        let gunicorn = try await GunicornServer(workers: 2)
        let uwsgi = try await UWSGIServer()
        for (server, option) in [(gunicorn as any ReloadableServer, "--gunicorn-pidfile"), (uwsgi, "--uwsgi-pidfile")] {
            let workers = server.workerPIDs
            let worker = try #require(workers.first)
            let pidfile = NSTemporaryDirectory() + "pgwarden-worker-" + UUID().uuidString + ".pid"
            try "\(worker)\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: pidfile) }
            let result = try await PGWardenCommand.run(["reload", option, pidfile, "--timeout", "5s"])
            #expect(result.status != 0)
            let errors = result.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1, "\(result.standardError)")
            #expect(errors.first?.contains("pid \(worker) (from \(pidfile))") == true, "\(result.standardError)")
            #expect(errors.first?.contains("worker") == true, "\(result.standardError)")
            #expect(Set(server.workerPIDs) == Set(workers), "no worker was signalled or replaced")
            await server.stop()
        }
    }

    @Test("each bad target is one error line and a non-zero exit")
    func errors() async throws {
        let directory = NSTemporaryDirectory() + "pgwarden-reload-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let regular = directory + "/regular"
        try "x".write(toFile: regular, atomically: true, encoding: .utf8)
        let orphan = directory + "/orphan.fifo"
        #expect(mkfifo(orphan, 0o600) == 0)
        let stale = directory + "/stale.pid"
        try "999999\n".write(toFile: stale, atomically: true, encoding: .utf8)
        let unrelated = directory + "/unrelated.pid"
        try "\(getpid())\n".write(toFile: unrelated, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--uwsgi-fifo", directory + "/missing"], "error: the master FIFO \(directory)/missing does not exist"),
            (["--uwsgi-fifo", regular], "error: \(regular) is not a FIFO"),
            (["--uwsgi-fifo", orphan], "error: no uWSGI master is reading the FIFO \(orphan)"),
            (
                ["--uwsgi-pidfile", directory + "/missing.pid"],
                "error: the pidfile \(directory)/missing.pid does not exist"
            ),
            (["--uwsgi-pidfile", stale], "error: stale pidfile \(stale): no process 999999 is running"),
            (["--uwsgi-pidfile", unrelated], "error: pid \(getpid()) (from \(unrelated)) is not a uWSGI master"),
            (
                ["--gunicorn-pidfile", unrelated],
                "error: pid \(getpid()) (from \(unrelated)) is not a gunicorn master"
            ),
            (["--gunicorn-pidfile", stale], "error: stale pidfile \(stale): no process 999999 is running"),
            (
                ["--reload-command", "pgwarden-no-such-command now"],
                "error: command not found: pgwarden-no-such-command"
            ),
            (["--reload-command", "false"], "error: the reload command failed (exited(1))"),
            // A path runs that file, as the migration's command does (it used to be looked up in PATH and refused).
            (["--reload-command", "/bin/false"], "error: the reload command failed (exited(1))"),
            (["--reload-command", "echo 'unclosed"], "error: the reload command has an unclosed quote, or is empty"),
            ([], "error: give one of --uwsgi-fifo, --uwsgi-pidfile, --gunicorn-pidfile or --reload-command"),
        ]
        for (arguments, expected) in cases {
            let result = try await PGWardenCommand.run(["reload"] + arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.standardError.hasPrefix(expected), "\(arguments): \(result.standardError)")
        }
    }
}

/// What a reload under load needs of an app server.
protocol ReloadableServer: Sendable {
    var port: UInt16 { get }
    var masterPID: Int32? { get }
    var workerPIDs: [Int32] { get }
    var slowRequestStarted: Bool { get }
    func stop() async
}

extension UWSGIServer: ReloadableServer {}
extension GunicornServer: ReloadableServer {}
