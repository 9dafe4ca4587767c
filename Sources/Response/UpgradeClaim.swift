/// A `pgwarden upgrade`'s claim, read from the database, that a session is its migration's: the
/// guard leaves such a session alone when the claim's holder is a role it trusts
/// (`[protect] upgrade_roles`). Claims are checked by pid and backend start, never by a name.
package struct UpgradeClaim: Sendable, Equatable {
    /// The claiming upgrade's run id, from its session's `application_name`
    /// (`pgwarden-upgrade-<run id>`); `nil` when that name does not carry one.
    package var runID: String?
    /// The backend pid of the upgrade's session that holds the claim.
    package var holderPID: Int32
    /// The login role of that session.
    package var holderRole: String

    /// Creates a claim.
    package init(runID: String?, holderPID: Int32, holderRole: String) {
        self.runID = runID
        self.holderPID = holderPID
        self.holderRole = holderRole
    }

    /// The `application_name` prefix of an upgrade's own session, followed by its run id.
    package static let holderApplicationPrefix = "pgwarden-upgrade-"

    /// Creates a claim from what `pg_stat_activity` shows of its holder.
    package init(holderPID: Int32, holderRole: String, holderApplicationName: String?) {
        let name = holderApplicationName ?? ""
        let runID =
            name.hasPrefix(Self.holderApplicationPrefix)
            ? String(name.dropFirst(Self.holderApplicationPrefix.count)) : nil
        self.init(runID: runID.flatMap { $0.isEmpty ? nil : $0 }, holderPID: holderPID, holderRole: holderRole)
    }

    /// `upgrade 20261207T052139Z-aa8a`, or `upgrade (pid 123)` when the run id is unknown: the audit's `by`.
    package var by: String {
        "upgrade " + (runID ?? "(pid \(holderPID))")
    }

    /// Why the session is protected, for the audit's `detail` and the log.
    package var reason: String {
        "the migration's session of a supervised upgrade (\(by), claimed by role \(holderRole), pid \(holderPID))"
    }
}
