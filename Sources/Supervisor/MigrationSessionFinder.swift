import Policy
import Processes
import Response
import WaitGraph

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the supervised migration's sessions by identity: those named for this run, and those
/// whose client end is a socket held by the migration's process tree — matched by the client's
/// TCP address and port (`client_addr`, `client_port`) or, for a Unix socket, by the kernel's
/// peer of the tree's sockets (`NETLINK_SOCK_DIAG`) found among the backend's own sockets.
struct MigrationSessionFinder {
    /// `pgwarden-migration-<run id>`: this run's, exactly.
    let runApplicationName: String
    /// `--app-name-match`: counts only for sessions that connected after the migration started.
    let applicationNameMatch: Glob?
    private(set) var sessions = MigrationSessions()
    /// Sessions whose client end was looked for among the migration's sockets and not found there. A
    /// session's client socket does not change, so they are not looked at again: a pile-up of 40 queued
    /// readers costs one look, not one per poll. Names are still compared on every poll (cheap, and
    /// `SET application_name` can change one).
    private var notOurSockets: Set<SessionKey> = []
    /// How each session was identified, for the log.
    private(set) var methods: [SessionKey: String] = [:]

    init(runApplicationName: String, applicationNameMatch: Glob?) {
        self.runApplicationName = runApplicationName
        self.applicationNameMatch = applicationNameMatch
    }

    /// Records the sessions that existed before the migration started.
    mutating func setBaseline(_ keys: Set<SessionKey>) {
        sessions.before = keys
    }

    /// Classifies the sessions of `snapshot` not yet known; returns those newly found to be the migration's.
    mutating func identify(in snapshot: LockSnapshot, migrationRoot: pid_t?) -> [SessionKey] {
        var candidates: [(key: SessionKey, activity: SessionActivity)] = []
        for (pid, activity) in snapshot.sessions {
            let key = activity.key(pid: pid)
            guard key.backendStart != nil, !sessions.identified.contains(key), !sessions.before.contains(key),
                !candidates.contains(where: { $0.key == key })  // a waiter that also blocks is listed twice
            else { continue }
            candidates.append((key, activity))
        }
        guard !candidates.isEmpty else { return [] }
        // The tree's sockets are read only when some candidate has not been looked for among them, and
        // only once the migration runs (before, there is no tree to find a socket in).
        let tree =
            migrationRoot != nil && candidates.contains { !notOurSockets.contains($0.key) }
            ? ClientSide(root: migrationRoot) : nil
        var found: [SessionKey] = []
        for candidate in candidates {
            let sockets = notOurSockets.contains(candidate.key) ? nil : tree
            guard let method = method(for: candidate.key, candidate.activity, tree: sockets) else {
                if sockets != nil { notOurSockets.insert(candidate.key) }
                continue
            }
            methods[candidate.key] = method
            sessions.identified.insert(candidate.key)
            found.append(candidate.key)
        }
        return found
    }

    private func method(for key: SessionKey, _ activity: SessionActivity, tree: ClientSide?) -> String? {
        let application = activity.applicationName ?? ""
        if application == runApplicationName { return "named for this run" }
        if let glob = applicationNameMatch, glob.matches(application) { return "--app-name-match \(glob)" }
        guard let tree else { return nil }
        if let port = activity.clientPort, port >= 0, let address = activity.clientAddress,
            tree.tcpEndpoints.contains(TCPEndpoint(address: address, port: port))
        {
            return "its client \(address):\(port) is a socket of the migration's process tree"
        }
        if activity.clientPort == -1, !tree.unixPeers.isEmpty,
            !ProcessSockets.inodes(of: key.pid).isDisjoint(with: tree.unixPeers)
        {
            return "its Unix socket is connected to the migration's process tree"
        }
        return nil
    }
}

/// The client ends of the migration's process tree, read from `/proc` and the kernel once per look.
private struct ClientSide {
    var tcpEndpoints: Set<TCPEndpoint> = []
    var unixPeers: Set<UInt64> = []

    init(root: pid_t?) {
        guard let root else { return }
        let processes = ProcFileSystem.snapshot().trees(rootedAt: [root]).union([root])
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
}

extension LockSnapshot {
    /// Every session of the snapshot with its activity: waiters and blockers.
    var sessions: [(pid: Int32, activity: SessionActivity)] {
        waits.map { ($0.pid, $0.activity) }
            + blockers.compactMap { blocker in blocker.activity.map { (blocker.pid, $0) } }
    }
}
