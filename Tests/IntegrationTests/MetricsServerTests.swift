import Foundation
import Guard
import Policy
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The metrics endpoint under slow and silent clients: each connection has its own thread and deadline.
@Suite("Metrics endpoint")
struct MetricsServerTests {
    @Test("clients dripping a byte at a time, and a silent one, never delay a scrape; they are dropped at the deadline")
    func drippingClients() async throws {
        let port = try HTTPProbe.freePort()
        let server = try MetricsServer(listening: "127.0.0.1:\(port)", metrics: GuardMetrics())
        defer { server.close() }
        let started = ContinuousClock.now
        let drippers = try (0..<3).map { _ in try Dripper(port: port) }
        let silent = try Dripper(port: port, silent: true)
        // Each is watched from now, on a thread of its own, so that the time of its close is when it
        // happened and not when the scrapes below have finished (CI once took 15 s over them).
        let closings = (drippers + [silent]).map { dripper in
            Task { try await dripper.waitUntilClosed(timeout: MetricsServer.connectionDeadline + .seconds(15)) }
        }

        // Normal scrapes meanwhile, each within 3 s, so the first while the drippers are still connected
        // (a server that served one client at a time leaves them waiting behind the first dripper, past their timeout).
        for _ in 0..<5 {
            let scrape = try await HTTPProbe.getOffPool(port: port, path: "/metrics", timeoutSeconds: 3)
            #expect(scrape.status == 200)
            #expect(scrape.body.contains("pgwarden_guard_polls_total 0\n"))
        }

        // Each dripper and the silent one are cut off at the deadline, not served and not kept.
        for (dripper, closing) in zip(drippers + [silent], closings) {
            let ended = try await closing.value
            #expect(ended - started >= MetricsServer.connectionDeadline - .milliseconds(100))
            // Generous: the machine may be loaded; a server without a deadline would never close it.
            #expect(ended - started < MetricsServer.connectionDeadline + .seconds(10))
            #expect(dripper.received.isEmpty, "a dripping client got an answer")
        }
    }

    @Test("32 idle connections beside 5 scrapes: every scrape is answered, the oldest idle connections are closed")
    func idleConnectionsDoNotStarve() async throws {
        let port = try HTTPProbe.freePort()
        let server = try MetricsServer(listening: "127.0.0.1:\(port)", metrics: GuardMetrics())
        defer { server.close() }
        let idle = try (0..<MetricsServer.maximumConnections).map { _ in try Dripper(port: port, silent: true) }
        var answered = 0
        for _ in 0..<5 {
            // Well within the idle ones' deadline: a server that refused the scrape while they held
            // every slot answered none of them (0 of 5).
            let scrape = try? await HTTPProbe.getOffPool(port: port, path: "/metrics", timeoutSeconds: 3)
            if scrape?.status == 200 { answered += 1 }
        }
        #expect(answered == 5)
        // The oldest idle connection made room: it is closed (by the first scrape, or at the latest at its
        // deadline on a loaded machine; the answered scrapes above are what the old server never gave).
        _ = try await idle[0].waitUntilClosed(timeout: MetricsServer.connectionDeadline + .seconds(10))
        withExtendedLifetime(idle) {}
    }

    @Test("every method but GET is answered 405 at once, a POST with a body too (it was dropped after 5 s)")
    func otherMethods() async throws {
        let port = try HTTPProbe.freePort()
        let server = try MetricsServer(listening: "127.0.0.1:\(port)", metrics: GuardMetrics())
        defer { server.close() }
        let requests = [
            "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
            "POST /metrics HTTP/1.0\r\nHost: x\r\n\r\n",
            "PUT /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
            "DELETE /metrics HTTP/1.0\r\n\r\n",
            "HEAD /metrics HTTP/1.0\r\n\r\n",
            "OPTIONS * HTTP/1.0\n\n",
        ]
        for request in requests {
            let started = ContinuousClock.now
            let answer = try await onDedicatedThread { try HTTPProbe.exchange(port, Array(request.utf8), 3) }
            #expect(answer.status == 405, "\(request.debugDescription)")
            // Answered at all is what the old server never did (it dropped it unanswered at the 5 s deadline); the
            // time only guards against a server that answers after waiting for a body (generous: CI is loaded).
            #expect(
                ContinuousClock.now - started < MetricsServer.connectionDeadline + .seconds(5),
                "\(request.debugDescription)"
            )
        }
        #expect(try await HTTPProbe.getOffPool(port: port, path: "/metrics").status == 200)
    }

    @Test("pgwarden_guard_actions_total has a zero series for each rule before its first action")
    func zeroSeries() throws {
        let metrics = GuardMetrics()
        let policy = try Policy(
            parsing: """
                [[rule]]
                name = "idle"
                action = "terminate"

                [[rule]]
                name = "deletes"
                action = "cancel"
                escalate_after = "5s"

                [[rule]]
                name = "watch"
                action = "log"
                """,
            file: "p.toml"
        )
        metrics.declare(policy, forceDryRun: false)
        let text = metrics.exposition()
        for series in [
            #"pgwarden_guard_actions_total{rule="idle",action="terminate",outcome="signalled"} 0"#,
            #"pgwarden_guard_actions_total{rule="deletes",action="cancel",outcome="signalled"} 0"#,
            #"pgwarden_guard_actions_total{rule="deletes",action="terminate",outcome="signalled"} 0"#,
            #"pgwarden_guard_actions_total{rule="watch",action="log",outcome="logged"} 0"#,
        ] {
            #expect(text.contains(series + "\n"), "\(series)")
        }
        metrics.recordAction(rule: "idle", action: "terminate", outcome: "signalled")
        metrics.declare(policy, forceDryRun: true)  // a reload keeps what was counted
        #expect(metrics.exposition().contains(#"{rule="idle",action="terminate",outcome="signalled"} 1"#))
        #expect(metrics.exposition().contains(#"{rule="idle",action="terminate",outcome="dry-run"} 0"#))
    }
}

/// A client that connects and sends `GET /metrics …` one byte every 300 ms (or nothing), never finishing.
private final class Dripper: Sendable {
    private let descriptor: Int32
    let connectedAt = ContinuousClock.now
    private let answer = Mutex<[UInt8]>([])

    /// What the server sent back.
    var received: [UInt8] { answer.withLock { $0 } }

    init(port: UInt16, silent: Bool = false) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestSupportError("connect failed") }
        guard !silent else { return }
        // The dripping thread sends on a descriptor of its own, which only it closes: had it used
        // `descriptor`, closed in deinit while the thread still sleeps between bytes, its next byte would
        // go to whatever reuses that number (CI saw a libpq socket of another test get "/", and the server
        // end that session with "invalid frontend message type 47").
        let own = dup(descriptor)
        guard own >= 0 else { throw TestSupportError("dup failed") }
        Thread.detachNewThread {
            defer { close(own) }
            for byte in Array("GET /metrics HTTP/1.0\r\nHost: x\r\nX-Slow: ".utf8) + Array(repeating: 65, count: 100) {
                var value = byte
                guard send(own, &value, 1, Int32(MSG_NOSIGNAL)) == 1 else { return }
                usleep(300_000)
            }
        }
    }

    deinit { close(descriptor) }

    /// Waits until the server closes the connection; returns when.
    func waitUntilClosed(timeout: Duration) async throws -> ContinuousClock.Instant {
        try await onDedicatedThread { [self] in
            var readTimeout = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &readTimeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count > 0 {
                    self.answer.withLock { $0 += buffer[0..<count] }
                    continue
                }
                if count == 0 || errno == ECONNRESET { return ContinuousClock.now }
                throw TestSupportError("the server kept the connection open: \(String(cString: strerror(errno)))")
            }
        }
    }
}
