import LockInspection
import Postgres
import Response
import WaitGraph

/// What the monitor has claimed, on which of its sessions: claims die with the session that holds
/// them, so a reconnect claims every identified session again.
struct MigrationClaims: Sendable {
    /// The backend pid of the session holding the claims.
    var holderPID: Int32?
    /// The sessions claimed on it.
    var claimed: Set<SessionKey> = []
    /// Whether a failure to claim was said (once per holder).
    var failureSaid = false
    /// Whether a failure to read other runs' claims was said (once per holder).
    var readFailureSaid = false
    /// The role of the monitor's session: the claims of other runs it trusts are its own role's.
    var ownRole: String?
}

extension MigrationMonitor {
    /// The run id, from the run's `application_name` (`pgwarden-migration-<run id>`).
    var runID: String {
        let prefix = "pgwarden-migration-"
        let name = finder.runApplicationName
        return name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
    }

    /// Claims, on the monitor's own session `connection`, every identified session of the migration whose
    /// client socket is the migration's process tree's (``MigrationSessionFinder/verified``) not claimed on it yet, so that a `pgwarden guard` trusting this role leaves them alone
    /// (``UpgradeClaims``). The session is named `pgwarden-upgrade-<run id>` first: the guard's
    /// audit names the run by it.
    func claimIdentifiedSessions(on connection: Connection) async {
        let holder = await connection.backendPID
        if claims.holderPID != holder { claims = MigrationClaims(holderPID: holder, ownRole: claims.ownRole) }
        // Only sessions whose socket is the migration's: a name alone would let any role have its session claimed.
        let pending = finder.verified.intersection(finder.sessions.identified).subtracting(claims.claimed)
        guard !pending.isEmpty else { return }
        do throws(PostgresError) {
            if claims.claimed.isEmpty { try await UpgradeClaims.nameHolder(runID: runID, on: connection) }
            for key in pending.sorted(by: { $0.pid < $1.pid }) {
                guard try await UpgradeClaims.claim(key, on: connection) else { continue }
                claims.claimed.insert(key)
                log.say(
                    "claimed pid \(key.pid) as this run's migration session: a pgwarden guard trusting this role leaves it alone"
                )
            }
        } catch {
            guard !claims.failureSaid else { return }
            claims.failureSaid = true
            log.warn(
                "cannot claim the migration's sessions in the database (\(error.message)): a pgwarden guard may judge them like any other session"
            )
        }
    }

    /// The sessions another `pgwarden upgrade` of this role claims as its migration's: this run's policy
    /// and its operator's orders leave them alone, as a guard does (two runs on one database). Read only
    /// when something blocks and something could act on it; unreadable claims protect nothing more.
    func otherRunsClaims(for snapshot: LockSnapshot, on connection: Connection) async -> [SessionKey: UpgradeClaim] {
        guard !snapshot.blockers.isEmpty, policy?.rules.isEmpty == false || operatorPrompt != nil,
            let role = claims.ownRole
        else { return [:] }
        do {
            return try await UpgradeClaims.read(for: snapshot, trustedRoles: [role], on: connection)
        } catch {
            // As the guard does: unreadable claims protect nothing more, and that is said once.
            if !claims.readFailureSaid {
                claims.readFailureSaid = true
                log.warn(
                    "cannot read other runs' claims (\(error.message)): this run's policy judges their migrations like any session"
                )
            }
            return [:]
        }
    }
}
