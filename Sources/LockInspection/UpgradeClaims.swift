import PGWardenSQL
import Postgres
import Response
import WaitGraph

/// How a `pgwarden upgrade` makes its migration's sessions known to a `pgwarden guard`, through
/// the one place both see: the database. The upgrade's own session takes a session-level advisory
/// lock per claimed session, keyed by that session's pid and backend start
/// (`sql/claim_migration_session.sql`); the guard reads them back (`sql/upgrade_claims.sql`) and
/// trusts a claim only from a role it is told to. A claim ends with the upgrade's session.
package enum UpgradeClaims {
    /// Claims `key` on `connection`, the upgrade's own session; returns whether the claim is held.
    package static func claim(_ key: SessionKey, on connection: Connection) async throws(PostgresError) -> Bool {
        guard let backendStart = key.backendStart else { return false }
        let rows = try await connection.query(Queries.claimMigrationSession, [key.pid, backendStart]).rows
        return try rows.first?.decode(Bool.self, "claimed") ?? false
    }

    /// Names `connection`, the upgrade's own session, for run `runID`: what a guard's audit shows as `by`.
    package static func nameHolder(runID: String, on connection: Connection) async throws(PostgresError) {
        _ = try await connection.query(
            "SELECT pg_catalog.set_config('application_name', $1, false)",
            [UpgradeClaim.holderApplicationPrefix + runID]
        )
    }

    /// The claims, held by a session of one of `trustedRoles`, on the blockers of `snapshot`, by the
    /// blockers' identity as this session prints it. Reads nothing when nothing blocks.
    package static func read(
        for snapshot: LockSnapshot,
        trustedRoles: Set<String>,
        on connection: Connection
    ) async throws(PostgresError) -> [SessionKey: UpgradeClaim] {
        let pids = snapshot.blockers.map(\.pid).filter { $0 != 0 }
        guard !pids.isEmpty, !trustedRoles.isEmpty else { return [:] }
        var claims: [SessionKey: UpgradeClaim] = [:]
        for row in try await connection.query(Queries.upgradeClaims, [pids]).rows {
            guard let role = try row.decode(String.self, "holder_role"), trustedRoles.contains(role) else { continue }
            let key = SessionKey(
                pid: try row.require(Int32.self, "pid"),
                backendStart: try row.require(String.self, "backend_start")
            )
            claims[key] = UpgradeClaim(
                holderPID: try row.require(Int32.self, "holder_pid"),
                holderRole: role,
                holderApplicationName: try row.decode(String.self, "holder_application_name")
            )
        }
        return claims
    }
}
