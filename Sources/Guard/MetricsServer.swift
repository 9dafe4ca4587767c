import FoundationEssentials
import Synchronization
import WardenSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal HTTP/1.0 endpoint for Prometheus: `GET /metrics` answers the exposition text,
/// any other path 404, any other method 405.
///
/// Every connection is served on a thread of its own, under one deadline for the whole exchange
/// (``connectionDeadline``, from accept to the last byte sent): a client that sends its request a
/// byte a second, or nothing, is dropped at the deadline and never delays another scrape. At most
/// ``maximumConnections`` are served at once; a connection beyond that closes the oldest one still
/// waiting for its request, so that idle connections can never starve a scrape (one is refused only
/// when all are being answered).
package final class MetricsServer: Sendable {
    /// The port the packaged unit listens on: 19187. Outside 9100–9999, the range Prometheus
    /// allocated to exporters (fully allocated now: every port in it is some exporter's, 9187 being
    /// postgres_exporter's, which runs beside pgwarden on the same servers), and below Linux's
    /// ephemeral ports (32768–60999), so that an outgoing connection never holds it.
    package static let defaultPort: UInt16 = 19187
    /// How long one connection may take, from accept to the end of the answer.
    package static let connectionDeadline: Duration = .seconds(5)
    /// Connections served at once; more are closed when accepted.
    package static let maximumConnections = 32

    private let descriptor: Int32
    /// The address it listens on, as `host:port`.
    package let address: String

    /// Listens on `address` (`host:port`, or a bare port for 127.0.0.1).
    ///
    /// - Throws: when the address is malformed or cannot be bound.
    package init(listening address: String, metrics: GuardMetrics) throws(OperatorError) {
        let (host, port) = try Self.parse(address)
        let descriptor = try Self.listen(host: host, port: port)
        self.descriptor = descriptor
        self.address = "\(host):\(port)"
        let connections = Connections()
        DetachedThread.start { [descriptor] in
            Self.acceptLoop(descriptor, metrics: metrics, connections: connections)
        }
    }

    /// Stops listening. The accept loop wakes and closes the socket itself: were it closed here, the loop's
    /// next `accept` would take whatever descriptor reuses the number.
    package func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    static func parse(_ address: String) throws(OperatorError) -> (String, UInt16) {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        let (host, portText) =
            parts.count == 1 ? ("127.0.0.1", parts[0]) : (parts[0].isEmpty ? "127.0.0.1" : String(parts[0]), parts[1])
        guard parts.count <= 2, let port = UInt16(portText), port > 0 else {
            throw OperatorError(.guardDaemon, "--metrics-listen takes HOST:PORT or PORT, not '\(address)'")
        }
        return (host, port)
    }

    private static func listen(host: String, port: UInt16) throws(OperatorError) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw OperatorError(.guardDaemon, "cannot create the metrics socket") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &socketAddress.sin_addr) == 1 else {
            Glibc.close(descriptor)
            throw OperatorError(.guardDaemon, "--metrics-listen: '\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(descriptor, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw OperatorError(.guardDaemon, "cannot listen on \(host):\(port) for metrics: \(reason)")
        }
        return descriptor
    }

    private static func acceptLoop(_ descriptor: Int32, metrics: GuardMetrics, connections: Connections) {
        defer { Glibc.close(descriptor) }
        while true {
            let client = accept(descriptor, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                // Out of descriptors: the connection waits in the backlog; try again shortly, not at full speed.
                if errno == EMFILE || errno == ENFILE {
                    usleep(100_000)
                    continue
                }
                return
            }
            guard let id = connections.admit(client, maximum: maximumConnections) else {
                Glibc.close(client)
                continue
            }
            DetachedThread.start {
                let deadline = ContinuousClock.now + connectionDeadline
                if let request = readRequest(client, until: deadline) {
                    connections.answering(id)
                    send(response(to: request, metrics: metrics), to: client, until: deadline)
                    finish(client, until: min(deadline, ContinuousClock.now + .seconds(1)))
                }
                connections.remove(id)
                Glibc.close(client)
            }
        }
    }

    /// The request head, up to its blank line (at most 8 kB); `nil` when the client did not send it in
    /// time. A body that follows the head in the same packet (a `POST`) does not hide its end.
    static func readRequest(_ client: Int32, until deadline: ContinuousClock.Instant) -> [UInt8]? {
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while request.count < 8192, !endsHead(request) {
            guard wait(for: Int16(POLLIN), on: client, until: deadline) else { return nil }
            let count = recv(client, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            request += buffer[0..<count]
        }
        return request
    }

    /// Whether `bytes` hold a blank line (CRLF CRLF, or LF LF from a lax client).
    static func endsHead(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 2 else { return false }
        for index in 1..<bytes.count where bytes[index] == 10 {
            if bytes[index - 1] == 10 { return true }
            if index >= 3, bytes[index - 1] == 13, bytes[index - 2] == 10, bytes[index - 3] == 13 { return true }
        }
        return false
    }

    /// After the answer: says no more, and reads what the client still sends (a request body) until
    /// it closes or `deadline`, so that closing with unread bytes does not reset the connection
    /// before the client has read the answer.
    private static func finish(_ client: Int32, until deadline: ContinuousClock.Instant) {
        shutdown(client, Int32(SHUT_WR))
        var buffer = [UInt8](repeating: 0, count: 1024)
        while wait(for: Int16(POLLIN), on: client, until: deadline) {
            let count = recv(client, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
        }
    }

    /// Whether `client` became ready for `events` before `deadline`.
    private static func wait(for events: Int16, on client: Int32, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return false }
            var descriptor = pollfd(fd: client, events: events, revents: 0)
            let milliseconds = Int32(min(remaining.seconds * 1000 + 1, 60_000))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }

    static func response(to request: [UInt8], metrics: GuardMetrics) -> [UInt8] {
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let path = line.dropFirst().first?.split(separator: "?", omittingEmptySubsequences: false).first
        let (status, body): (String, String) =
            switch (line.first, path) {
            case ("GET"?, "/metrics"?): ("200 OK", metrics.exposition())
            case ("GET"?, _): ("404 Not Found", "only /metrics is served here\n")
            default: ("405 Method Not Allowed", "only GET is served here\n")
            }
        return Array(
            "HTTP/1.0 \(status)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                .utf8
        )
    }

    private static func send(_ bytes: [UInt8], to client: Int32, until deadline: ContinuousClock.Instant) {
        var rest = bytes[...]
        while !rest.isEmpty, wait(for: Int16(POLLOUT), on: client, until: deadline) {
            let sent = rest.withUnsafeBytes {
                Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard sent > 0 else { return }
            rest = rest.dropFirst(sent)
        }
    }
}

/// The connections being served, each with when it was accepted and whether its request is in.
private final class Connections: Sendable {
    private struct Entry {
        let descriptor: Int32
        let acceptedAt: ContinuousClock.Instant
        var answering = false
    }

    private struct State {
        var next = 0
        var entries: [Int: Entry] = [:]
    }

    private let state = Mutex(State())

    /// Registers `descriptor`. When `maximum` are served already, the oldest one still waiting for its
    /// request is shut down first (its thread wakes and closes it); when all are being answered, `nil`.
    /// Shut down under the lock, while its thread has not removed it, so never a descriptor reused.
    func admit(_ descriptor: Int32, maximum: Int) -> Int? {
        state.withLock { state in
            if state.entries.count >= maximum {
                let idle = state.entries.filter { !$0.value.answering }
                guard let oldest = idle.min(by: { $0.value.acceptedAt < $1.value.acceptedAt }) else { return nil }
                shutdown(oldest.value.descriptor, Int32(SHUT_RDWR))
                state.entries[oldest.key] = nil
            }
            state.next += 1
            state.entries[state.next] = Entry(descriptor: descriptor, acceptedAt: .now)
            return state.next
        }
    }

    /// Connection `id` has sent its request: it is being answered, never shut down for another.
    func answering(_ id: Int) {
        state.withLock { $0.entries[id]?.answering = true }
    }

    /// Connection `id` is done; its thread closes it after this.
    func remove(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }
}
