import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal HTTP/1.0 endpoint for Prometheus: `GET /metrics` answers the exposition text,
/// any other path 404, any other method 405. One connection at a time, on a thread of its own.
public final class MetricsServer: Sendable {
    private let descriptor: Int32
    /// The address it listens on, as `host:port`.
    public let address: String

    /// Listens on `address` (`host:port`, or a bare port for 127.0.0.1).
    ///
    /// - Throws: when the address is malformed or cannot be bound.
    public init(listening address: String, metrics: GuardMetrics) throws(GuardError) {
        let (host, port) = try Self.parse(address)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw GuardError("cannot create the metrics socket") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &socketAddress.sin_addr) == 1 else {
            Glibc.close(descriptor)
            throw GuardError("--metrics-listen: '\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw GuardError("cannot listen on \(host):\(port) for metrics: \(reason)")
        }
        self.descriptor = descriptor
        self.address = "\(host):\(port)"
        Thread.detachNewThread { [descriptor] in
            while true {
                let client = accept(descriptor, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                Self.answer(client, metrics: metrics)
                Glibc.close(client)
            }
        }
    }

    /// Stops listening.
    public func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        Glibc.close(descriptor)
    }

    static func parse(_ address: String) throws(GuardError) -> (String, UInt16) {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        let (host, portText) =
            parts.count == 1 ? ("127.0.0.1", parts[0]) : (parts[0].isEmpty ? "127.0.0.1" : String(parts[0]), parts[1])
        guard parts.count <= 2, let port = UInt16(portText), port > 0 else {
            throw GuardError("--metrics-listen takes HOST:PORT or PORT, not '\(address)'")
        }
        return (host, port)
    }

    private static func answer(_ client: Int32, metrics: GuardMetrics) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while request.count < 8192, !request.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            request += buffer[0..<count]
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let (status, body): (String, String) =
            switch (line.first, line.dropFirst().first) {
            case ("GET"?, "/metrics"?): ("200 OK", metrics.exposition())
            case ("GET"?, _): ("404 Not Found", "only /metrics is served here\n")
            default: ("405 Method Not Allowed", "only GET is served here\n")
            }
        let response =
            "HTTP/1.0 \(status)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
}
