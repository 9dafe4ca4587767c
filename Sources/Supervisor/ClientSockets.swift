import Processes

#if canImport(Glibc)
    import Glibc
#endif

/// The client ends held by a set of processes (the migration's tree), read from `/proc` and the kernel
/// once per look: which backend is theirs, by the client's TCP address and port (`client_addr`,
/// `client_port`) or, for a Unix socket, by the kernel's peer of their sockets found among the
/// backend's own sockets (`NETLINK_SOCK_DIAG`).
struct ClientSockets {
    private var tcpEndpoints: Set<TCPEndpoint> = []
    private var unixPeers: Set<UInt64> = []

    /// The migration's process tree: its leader and descendants, and every process pgwarden adopted
    /// (a descendant that daemonised becomes pgwarden's child, pgwarden being its subreaper).
    static func migrationTree(root: pid_t) -> Set<Int32> {
        let snapshot = ProcFileSystem.snapshot()
        return snapshot.trees(rootedAt: [root, getpid()]).union([root]).subtracting([getpid()])
    }

    init(processes: Set<Int32>) {
        var inodes: Set<UInt64> = []
        for pid in processes { inodes.formUnion(ProcessSockets.inodes(of: pid)) }
        guard !inodes.isEmpty else { return }
        for (inode, endpoint) in ProcessSockets.tcpEndpoints() where inodes.contains(inode) {
            tcpEndpoints.insert(endpoint)
        }
        for (inode, peer) in UnixSocketPeers.all() where inodes.contains(inode) {
            unixPeers.insert(peer)
        }
    }

    /// How the backend `pid` is known to be a session of these processes; `nil` when it is not.
    func owner(ofBackend pid: Int32, clientAddress: String?, clientPort: Int32?) -> String? {
        if let port = clientPort, port >= 0, let address = clientAddress,
            tcpEndpoints.contains(TCPEndpoint(address: address, port: port))
        {
            return "its client \(address):\(port) is a socket of the migration's process tree"
        }
        if clientPort == -1, !unixPeers.isEmpty, !ProcessSockets.inodes(of: pid).isDisjoint(with: unixPeers) {
            return "its Unix socket is connected to the migration's process tree"
        }
        return nil
    }
}
