import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The peers of Unix-domain sockets, asked of the kernel through `NETLINK_SOCK_DIAG` (as `ss -x`
/// does): for a client's socket inode, the inode of the server's end of the connection.
package enum UnixSocketPeers {
    private static let sockDiagByFamily: UInt16 = 20
    private static let showPeer: UInt32 = 0x04  // UDIAG_SHOW_PEER
    private static let peerAttribute: UInt16 = 2  // UNIX_DIAG_PEER
    private static let done: UInt16 = 3  // NLMSG_DONE
    private static let errorMessage: UInt16 = 2  // NLMSG_ERROR

    /// Every connected Unix socket's peer inode, by inode; empty when the kernel does not answer.
    package static func all() -> [UInt64: UInt64] {
        let descriptor = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 4)  // NETLINK_SOCK_DIAG
        guard descriptor >= 0 else { return [:] }
        defer { close(descriptor) }
        var request = [UInt8]()
        append(UInt32(16 + 24), to: &request)  // nlmsghdr.nlmsg_len
        append(sockDiagByFamily, to: &request)  // nlmsg_type
        append(UInt16(0x301), to: &request)  // NLM_F_REQUEST | NLM_F_DUMP
        append(UInt32(1), to: &request)  // seq
        append(UInt32(0), to: &request)  // pid
        request += [UInt8(AF_UNIX), 0, 0, 0]  // sdiag_family, sdiag_protocol, pad
        append(UInt32.max, to: &request)  // udiag_states: every state
        append(UInt32(0), to: &request)  // udiag_ino
        append(showPeer, to: &request)  // udiag_show
        append(UInt32.max, to: &request)  // udiag_cookie[0]: none
        append(UInt32.max, to: &request)  // udiag_cookie[1]
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { return [:] }
        var peers: [UInt64: UInt64] = [:]
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return peers }
            guard parse(Array(buffer[0..<count]), into: &peers) else { return peers }
        }
    }

    /// Parses one datagram of answers; false when the dump is over.
    static func parse(_ bytes: [UInt8], into peers: inout [UInt64: UInt64]) -> Bool {
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(read(UInt32.self, bytes, offset))
            let type = read(UInt16.self, bytes, offset + 4)
            guard length >= 16, offset + length <= bytes.count else { return false }
            if type == done || type == errorMessage { return false }
            let message = offset + 16
            if message + 16 <= offset + length {
                let inode = UInt64(read(UInt32.self, bytes, message + 4))
                var attribute = message + 16
                while attribute + 4 <= offset + length {
                    let attributeLength = Int(read(UInt16.self, bytes, attribute))
                    guard attributeLength >= 4 else { break }
                    if read(UInt16.self, bytes, attribute + 2) == peerAttribute, attributeLength >= 8 {
                        peers[inode] = UInt64(read(UInt32.self, bytes, attribute + 4))
                    }
                    attribute += (attributeLength + 3) & ~3
                }
            }
            offset += (length + 3) & ~3
        }
        return true
    }

    private static func append<Value: FixedWidthInteger>(_ value: Value, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func read<Value: FixedWidthInteger>(_: Value.Type, _ bytes: [UInt8], _ offset: Int) -> Value {
        var value = Value.zero
        for index in 0..<MemoryLayout<Value>.size {
            value |= Value(bytes[offset + index]) << (8 * index)
        }
        return value
    }
}

/// The sockets a process holds open, from `/proc/PID/fd`.
package enum ProcessSockets {
    /// The socket inodes of `pid`; empty when they cannot be read (another user's process, or it has ended).
    package static func inodes(of pid: Int32) -> Set<UInt64> {
        let directory = "/proc/\(pid)/fd"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var result: Set<UInt64> = []
        for name in names {
            if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + name),
                let inode = SocketTable.socketInode(fromLink: link)
            {
                result.insert(inode)
            }
        }
        return result
    }

    /// The local TCP endpoints of the machine's sockets, by inode (IPv4 and IPv6).
    package static func tcpEndpoints() -> [UInt64: TCPEndpoint] {
        var result: [UInt64: TCPEndpoint] = [:]
        for path in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let data = ProcFileSystem.contents(of: path) else { continue }
            result.merge(SocketTable.localEndpoints(procNetTCP: String(decoding: data, as: UTF8.self))) { first, _ in
                first
            }
        }
        return result
    }
}
