/// A `pgwarden upgrade`'s claim, read from the database, that a session is its migration's: the
/// guard leaves such a session alone when the claim's holder is a role it trusts
/// (`[protect] upgrade_roles`). Claims are checked by pid and backend start, never by a name.
public struct UpgradeClaim: Sendable, Equatable {
    /// The claiming upgrade's run id, from its session's `application_name`
    /// (`pgwarden-upgrade-<run id>`); `nil` when that name does not carry one.
    public var runID: String?
    /// The backend pid of the upgrade's session that holds the claim.
    public var holderPID: Int32
    /// The login role of that session.
    public var holderRole: String

    /// Creates a claim.
    public init(runID: String?, holderPID: Int32, holderRole: String) {
        self.runID = runID
        self.holderPID = holderPID
        self.holderRole = holderRole
    }

    /// The `application_name` prefix of an upgrade's own session, followed by its run id.
    public static let holderApplicationPrefix = "pgwarden-upgrade-"

    /// Creates a claim from what `pg_stat_activity` shows of its holder.
    public init(holderPID: Int32, holderRole: String, holderApplicationName: String?) {
        let name = holderApplicationName ?? ""
        let runID =
            name.hasPrefix(Self.holderApplicationPrefix)
            ? String(name.dropFirst(Self.holderApplicationPrefix.count)) : nil
        self.init(runID: runID.flatMap { $0.isEmpty ? nil : $0 }, holderPID: holderPID, holderRole: holderRole)
    }

    /// `upgrade 20261207T052139Z-aa8a`, or `upgrade (pid 123)` when the run id is unknown: the audit's `by`.
    public var by: String {
        "upgrade " + (runID ?? "(pid \(holderPID))")
    }

    /// Why the session is protected, for the audit's `detail` and the log.
    public var reason: String {
        "the migration's session of a supervised upgrade (\(by), claimed by role \(holderRole), pid \(holderPID))"
    }
}
