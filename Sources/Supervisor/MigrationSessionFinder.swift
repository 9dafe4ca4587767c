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
    /// How many times each session's client end was looked for among the migration's sockets and not found.
    /// A session's client socket does not change, so after ``looksBeforeGivingUp`` it is not looked at again:
    /// a pile-up of 40 queued readers costs a few looks, not one per poll. (More than one: a process of the
    /// tree can be between fork and exec, or its sockets not yet listed, at the first look.) Names are still
    /// compared on every poll (cheap, and `SET application_name` can change one).
    private var missedLooks: [SessionKey: Int] = [:]
    private static let looksBeforeGivingUp = 3
    /// How each session was identified, for the log.
    private(set) var methods: [SessionKey: String] = [:]
    /// The identified sessions whose client socket is the migration's process tree's: the only ones the run
    /// claims for a guard to leave alone. A name is self-declared (any role can take
    /// `pgwarden-migration-<run id>`), a socket of the tree is not.
    private(set) var verified: Set<SessionKey> = []

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
            // Identified by name but not yet by socket: looked for among the tree's sockets too.
            let unverified = sessions.identified.contains(key) && !verified.contains(key)
            guard key.backendStart != nil, !sessions.identified.contains(key) || unverified,
                !sessions.before.contains(key),
                !candidates.contains(where: { $0.key == key })  // a waiter that also blocks is listed twice
            else { continue }
            candidates.append((key, activity))
        }
        guard !candidates.isEmpty else { return [] }
        // The tree's sockets are read only when some candidate has not been looked for among them, and
        // only once the migration runs (before, there is no tree to find a socket in).
        let tree =
            migrationRoot.flatMap { root in
                candidates.contains { !isNotOurs($0.key) }
                    ? ClientSockets(processes: ClientSockets.migrationTree(root: root)) : nil
            }
        var found: [SessionKey] = []
        for candidate in candidates {
            let sockets = isNotOurs(candidate.key) ? nil : tree
            let owner = sockets?.owner(
                ofBackend: candidate.key.pid,
                clientAddress: candidate.activity.clientAddress,
                clientPort: candidate.activity.clientPort
            )
            if owner != nil {
                verified.insert(candidate.key)
            } else if sockets != nil {
                missedLooks[candidate.key, default: 0] += 1
            }
            guard !sessions.identified.contains(candidate.key),
                let method = nameMethod(candidate.activity) ?? owner
            else { continue }
            methods[candidate.key] = method
            sessions.identified.insert(candidate.key)
            found.append(candidate.key)
        }
        return found
    }

    private func isNotOurs(_ key: SessionKey) -> Bool {
        missedLooks[key, default: 0] >= Self.looksBeforeGivingUp
    }

    /// How the session's name says it is the migration's, if it does.
    private func nameMethod(_ activity: SessionActivity) -> String? {
        let application = activity.applicationName ?? ""
        if application == runApplicationName { return "named for this run" }
        if let glob = applicationNameMatch, glob.matches(application) { return "--app-name-match \(glob)" }
        return nil
    }
}

extension LockSnapshot {
    /// Every session of the snapshot with its activity: waiters and blockers.
    var sessions: [(pid: Int32, activity: SessionActivity)] {
        waits.map { ($0.pid, $0.activity) }
            + blockers.compactMap { blocker in blocker.activity.map { (blocker.pid, $0) } }
    }
}
