import Foundation
import Synchronization
import Testing

/// A real uWSGI (Debian's uwsgi-core with the python3 plugin) on a free loopback port, with a
/// master, a pidfile and a master FIFO; stopped by its pid at the end.
package final class UWSGIServer: Sendable {
    package let directory: String
    package let port: UInt16
    package var pidfile: String { directory + "/uwsgi.pid" }
    package var fifo: String { directory + "/master.fifo" }

    /// The WSGI app: `/` answers at once with the worker's pid; `/slow` after two seconds; `/hold`
    /// once the file `release` exists beside it (at most a minute). Both first create `slow-started`.
    package static let application = """
        import os, time
        here = os.path.dirname(__file__)
        def application(environ, start_response):
            if environ.get("PATH_INFO") in ("/slow", "/hold"):
                open(os.path.join(here, "slow-started"), "w").close()
            if environ.get("PATH_INFO") == "/slow":
                time.sleep(2)
            if environ.get("PATH_INFO") == "/hold":
                deadline = time.time() + 60
                while not os.path.exists(os.path.join(here, "release")) and time.time() < deadline:
                    time.sleep(0.05)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [("%d" % os.getpid()).encode()]
        """

    /// Starts uWSGI with `processes` workers and waits until it answers.
    package init(processes: Int = 2) async throws {
        directory = NSTemporaryDirectory() + "pgwarden-uwsgi-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.application.write(toFile: directory + "/app.py", atomically: true, encoding: .utf8)
        port = try HTTPProbe.freePort()
        let arguments = [
            "/usr/bin/uwsgi-core", "--plugin", "python3", "--master", "--http-socket", "127.0.0.1:\(port)",
            "--processes", "\(processes)", "--wsgi-file", directory + "/app.py", "--pidfile", pidfile,
            "--master-fifo", fifo, "--listen", "128", "--worker-reload-mercy", "30", "--die-on-term",
            "--daemonize", directory + "/uwsgi.log",
        ]
        // Through a launcher that closes inherited descriptors: uWSGI outlives the call.
        let launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], close_fds=True))"
        let result = try await TestCrontab.runOffPool("/usr/bin/python3", ["-c", launcher] + arguments)
        guard result.status == 0 else { throw TestSupportError("uwsgi failed to start: \(result.error)") }
        try await eventually("uWSGI answers on port \(port)") {
            (try? HTTPProbe.get(port: self.port, path: "/"))?.status == 200
        }
    }

    /// Whether a `/slow` request has begun.
    package var slowRequestStarted: Bool { FileManager.default.fileExists(atPath: directory + "/slow-started") }

    /// Lets `/hold` requests finish.
    package func release() throws {
        try "".write(toFile: directory + "/release", atomically: true, encoding: .utf8)
    }

    /// The master's pid.
    package var masterPID: Int32? {
        (try? String(contentsOfFile: pidfile, encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// The master's children: its workers.
    package var workerPIDs: [Int32] {
        masterPID.map(Self.children) ?? []
    }

    /// The live children of `master`, as `/proc` shows them.
    package static func children(of master: Int32) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == master && fields[0] != "Z"
        }.sorted()
    }

    deinit {
        // A test that failed before stop(): still end this server, by its master's pid.
        if let master = masterPID { kill(master, SIGINT) }
    }

    /// Stops uWSGI by its master's pid and waits for it to go.
    package func stop() async {
        guard let master = masterPID else { return }
        kill(master, SIGTERM)  // --die-on-term
        try? await eventually("uWSGI stops") { kill(master, 0) != 0 }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A minimal HTTP/1.0 client on blocking sockets, for load and probes against loopback.
package enum HTTPProbe {
    /// The server reset the connection before any byte of its answer: a worker that had accepted it
    /// exited without reading it.
    package struct ResetBeforeAnswer: Error, CustomStringConvertible {
        package var description: String { "connection reset before any byte of the answer" }
    }

    /// Sends `GET path` to 127.0.0.1:`port` and returns the status and body.
    package static func get(port: UInt16, path: String, timeoutSeconds: Int = 10) throws -> (status: Int, body: String)
    {
        try exchange(port: port, Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8), timeoutSeconds)
    }

    /// Sends `request` as it is to 127.0.0.1:`port` and returns the status and body of the answer.
    package static func exchange(_ port: UInt16, _ request: [UInt8], _ timeoutSeconds: Int = 10) throws -> (
        status: Int, body: String
    ) {
        try exchange(port: port, request, timeoutSeconds)
    }

    private static func exchange(port: UInt16, _ request: [UInt8], _ timeoutSeconds: Int) throws -> (
        status: Int, body: String
    ) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket failed") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestSupportError("connect failed: \(String(cString: strerror(errno)))") }
        guard send(descriptor, request, request.count, 0) == request.count else {
            throw TestSupportError("send failed")
        }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count < 0 {
                if errno == ECONNRESET && response.isEmpty { throw HTTPProbe.ResetBeforeAnswer() }
                throw TestSupportError("recv failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
            throw TestSupportError("not an HTTP response: \(text.prefix(40).debugDescription)")
        }
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    /// ``get(port:path:timeoutSeconds:)`` on a thread of its own, for requests that take a while.
    package static func getOffPool(port: UInt16, path: String, timeoutSeconds: Int = 10) async throws -> (
        status: Int, body: String
    ) {
        try await onDedicatedThread { try get(port: port, path: path, timeoutSeconds: timeoutSeconds) }
    }

    /// A port that was free a moment ago on 127.0.0.1.
    package static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw TestSupportError("no free port") }
        return UInt16(bigEndian: address.sin_port)
    }
}

/// Clients that keep sending requests, each on a thread of its own, until stopped; they count
/// what succeeded and what failed. Bounded: they stop by themselves after `limit`.
package final class HTTPLoad: Sendable {
    private let counts = Counts()
    private let stopped = Counts()

    package init(port: UInt16, clients: Int = 4, limit: Duration = .seconds(60)) {
        let deadline = ContinuousClock.now.advanced(by: limit)
        for _ in 0..<clients {
            let counts = self.counts
            let stopped = self.stopped
            Thread.detachNewThread {
                while stopped.succeeded == 0, ContinuousClock.now < deadline {
                    // As long as a front end such as nginx waits for uWSGI by default (60 s): a request
                    // queued through a reload on a loaded machine has not failed.
                    do {
                        let response = try HTTPProbe.get(port: port, path: "/", timeoutSeconds: 60)
                        if response.status == 200 {
                            counts.recordSuccess()
                        } else {
                            counts.recordFailure("status \(response.status)")
                        }
                    } catch is HTTPProbe.ResetBeforeAnswer {
                        counts.recordReset()
                    } catch {
                        counts.recordFailure("\(error)")
                    }
                }
                stopped.recordFailure()  // one per finished client
            }
        }
    }

    package var succeeded: Int { counts.succeeded }
    package var failed: Int { counts.failed }
    /// Why the first failed requests failed (at most three).
    package var failures: [String] { counts.reasons }
    /// Requests whose connection was reset before any byte of the answer (not counted in ``failed``).
    package var resetBeforeAnswer: Int { counts.resets }

    /// Expects no request failed across `reloads` graceful reloads, but for at most one reset per reload
    /// before any answer: uWSGI's worker, told to stop gracefully between its `accept()` and the start of
    /// the request, exits at once (`gracefully_kill`: `if (!in_request) exit(...)`) and the kernel resets the
    /// connection it had accepted. That race is uWSGI's own, in its graceful reload whoever asks for it; a
    /// reload that failed requests in any other way, or more often, fails this.
    package func expectNoFailedRequests(reloads: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            failed == 0,
            "\(failed) of \(succeeded + failed) requests failed: \(failures)",
            sourceLocation: sourceLocation
        )
        #expect(
            resetBeforeAnswer <= reloads,
            "\(resetBeforeAnswer) connections reset before any answer in \(reloads) reloads",
            sourceLocation: sourceLocation
        )
    }

    /// Stops the clients and waits until each has finished its last request.
    package func stop(clients: Int = 4) async throws {
        stopped.recordSuccess()
        try await eventually("the load clients stop") { self.stopped.failed >= clients }
    }
}

final class Counts: Sendable {
    private let values = Mutex((succeeded: 0, failed: 0, resets: 0, reasons: [String]()))
    func recordSuccess() { values.withLock { $0.succeeded += 1 } }
    func recordReset() { values.withLock { $0.resets += 1 } }
    func recordFailure(_ reason: String? = nil) {
        values.withLock {
            $0.failed += 1
            if let reason, $0.reasons.count < 3 { $0.reasons.append(reason) }
        }
    }
    var succeeded: Int { values.withLock { $0.succeeded } }
    var failed: Int { values.withLock { $0.failed } }
    var resets: Int { values.withLock { $0.resets } }
    var reasons: [String] { values.withLock { $0.reasons } }
}
