import FoundationEssentials

/// The client side of a TCP connection, as `/proc/net/tcp` and `tcp6` show it.
package struct TCPEndpoint: Sendable, Hashable {
    /// The address, as PostgreSQL's `host(client_addr)` prints it (`127.0.0.1`, `::1`).
    package var address: String
    /// The port.
    package var port: Int32

    /// Creates an endpoint.
    package init(address: String, port: Int32) {
        self.address = address
        self.port = port
    }
}

/// Parses the socket tables of `/proc`: pure, so it is tested on text.
package enum SocketTable {
    /// The socket inodes among a process's open file links (`socket:[12345]`).
    package static func socketInode(fromLink link: String) -> UInt64? {
        guard link.hasPrefix("socket:["), link.hasSuffix("]") else { return nil }
        return UInt64(link.dropFirst(8).dropLast())
    }

    /// The local endpoint of every socket in a `/proc/net/tcp` or `tcp6` text, by inode.
    package static func localEndpoints(procNetTCP text: String) -> [UInt64: TCPEndpoint] {
        var result: [UInt64: TCPEndpoint] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count > 9, let inode = UInt64(fields[9]), inode != 0,
                let endpoint = endpoint(hex: String(fields[1]))
            else { continue }
            result[inode] = endpoint
        }
        return result
    }

    /// `0100007F:1F90` → 127.0.0.1:8080; 32 hex digits for IPv6 (four little-endian words),
    /// with an IPv4-mapped address printed as IPv4, as PostgreSQL prints it.
    static func endpoint(hex: String) -> TCPEndpoint? {
        let parts = hex.split(separator: ":")
        guard parts.count == 2, let port = Int32(parts[1], radix: 16) else { return nil }
        let digits = Array(parts[0])
        var bytes: [UInt8] = []
        for word in stride(from: 0, to: digits.count, by: 8) {
            guard word + 8 <= digits.count, let value = UInt32(String(digits[word..<word + 8]), radix: 16) else {
                return nil
            }
            // Each 32-bit word is printed as the host (little-endian) integer of the network bytes.
            bytes += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
        }
        if bytes.count == 4 { return TCPEndpoint(address: bytes.map(String.init).joined(separator: "."), port: port) }
        guard bytes.count == 16 else { return nil }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return TCPEndpoint(address: bytes[12...].map(String.init).joined(separator: "."), port: port)
        }
        var groups: [String] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        return TCPEndpoint(address: compressIPv6(groups), port: port)
    }

    /// RFC 5952's form: the longest run of two or more zero groups becomes `::`.
    static func compressIPv6(_ groups: [String]) -> String {
        var best = (start: -1, length: 0)
        var index = 0
        while index < groups.count {
            guard groups[index] == "0" else {
                index += 1
                continue
            }
            var end = index
            while end < groups.count, groups[end] == "0" { end += 1 }
            if end - index > best.length, end - index >= 2 { best = (index, end - index) }
            index = end
        }
        guard best.start >= 0 else { return groups.joined(separator: ":") }
        let head = groups[..<best.start].joined(separator: ":")
        let tail = groups[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }
}
