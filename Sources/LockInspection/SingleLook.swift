import FoundationEssentials
import PGWardenSQL
import Postgres
import WaitGraph

/// What `pgwarden locks` without `--watch` reads, all in the round trip after connecting
/// (``InspectorSession/openLooking(connectionString:scope:logger:)``).
///
/// The queries a poll and the role read run one by one, `sql/session_role.sql`,
/// `sql/lock_waits.sql` and, for the connection's database, `sql/lock_hazards.sql` and
/// `sql/waits_in_other_databases.sql`, are sent together with the session settings (libpq's
/// pipeline mode): one transaction, so that `pg_stat_activity`'s backend copy is read once for
/// them all. They are sent as they are, never composed into one statement: the same four as
/// CTEs of one statement cost a fresh backend more CPU (about 9.1 against 8.2 ms on
/// PostgreSQL 15: the planner's work on the whole), the round trip being one either way.
package struct SingleLook: Sendable {
    /// Who the session is and what it may see.
    package var role: SessionRole
    /// The lock waits; with their hazards when nothing waits in the connection's database.
    package var snapshot: LockSnapshot
    /// The databases other than the connection's where sessions wait, most waiters first:
    /// read when nothing waits in the connection's database.
    package var elsewhere: [(database: String, count: Int)]

    /// The oldest open transactions listed among the hazards.
    static let oldestTransactions = 3

    /// The statements of a look at a server of `serverVersion` (`server_version_num`), in order:
    /// the role, the waits and, for the connection's database, the hazards and the other
    /// databases' waits (read whether or not something waits: their round trip is already paid).
    static func statements(serverVersion: Int, scope: LockInspector.Scope) -> [PipelinedStatement] {
        var statements = [
            PipelinedStatement(sql: Queries.sessionRole),
            PipelinedStatement(sql: Queries.lockWaits(serverVersion: serverVersion)),
        ]
        if scope == .currentDatabase {
            statements += [
                PipelinedStatement(sql: Queries.lockHazards, parameters: [String(oldestTransactions)]),
                PipelinedStatement(sql: Queries.waitsInOtherDatabases),
            ]
        }
        return statements
    }

    /// Decodes the statements' results, taken at `takenAt`.
    init(_ results: [QueryResult], scope: LockInspector.Scope, takenAt: Date) throws(PostgresError) {
        guard results.count == (scope == .currentDatabase ? 4 : 2) else {
            throw PostgresError(code: .unexpectedResult, message: "a look returned \(results.count) results")
        }
        role = try SessionRole(results[0])
        snapshot = try LockInspector.snapshot(
            results[1],
            takenAt: takenAt,
            databaseOID: scope == .allDatabases ? nil : role.databaseOID
        )
        elsewhere = []
        guard scope == .currentDatabase, snapshot.isEmpty else { return }
        snapshot.hazards = try LockInspector.hazards(results[2])
        elsewhere = try LockInspector.waitsInOtherDatabases(results[3])
    }
}
