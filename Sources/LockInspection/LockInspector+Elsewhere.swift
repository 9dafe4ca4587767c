import PGWardenSQL
import Postgres
import WaitGraph

extension LockInspector {
    /// The databases other than the connection's where sessions wait on a lock, most waiters
    /// first: one cheap query (`sql/waits_in_other_databases.sql`), for when the connection's
    /// database shows nothing.
    package func waitsInOtherDatabases() async throws(PostgresError) -> [(database: String, count: Int)] {
        try Self.waitsInOtherDatabases(try await connection.query(Queries.waitsInOtherDatabases))
    }

    /// Decodes the rows of `sql/waits_in_other_databases.sql`.
    static func waitsInOtherDatabases(
        _ result: QueryResult
    ) throws(PostgresError) -> [(database: String, count: Int)] {
        var counts: [(database: String, count: Int)] = []
        for row in result.rows {
            counts.append((try row.require(String.self, "datname"), Int(try row.require(Int32.self, "waiting"))))
        }
        return counts
    }

    /// What would make a migration wait, when nobody waits: sessions idle in transaction holding relation locks on
    /// this database's tables, and the `oldest` oldest open transactions.
    package func hazards(oldest: Int = 3) async throws(PostgresError) -> LockHazards {
        try Self.hazards(try await connection.query(Queries.lockHazards, [oldest]))
    }

    /// Decodes the rows of `sql/lock_hazards.sql`.
    static func hazards(_ result: QueryResult) throws(PostgresError) -> LockHazards {
        var idle: [LockHazards.Session] = []
        var old: [LockHazards.Session] = []
        for row in result.rows {
            var session = LockHazards.Session(
                pid: try row.require(Int32.self, "pid"),
                usename: try row.decode(String.self, "usename"),
                applicationName: try row.decode(String.self, "application_name"),
                state: try row.decode(String.self, "state"),
                transactionSeconds: try row.decode(Double.self, "xact_seconds") ?? 0,
                stateSeconds: try row.decode(Double.self, "state_seconds") ?? 0,
                query: try row.decode(String.self, "query")
            )
            if try row.require(String.self, "kind") == "idle" {
                session.relations = try row.decode([String].self, "relations") ?? []
                session.strongestMode = try row.decode(String.self, "strongest")
                idle.append(session)
            } else {
                old.append(session)
            }
        }
        return LockHazards(idleHolders: idle, oldest: old)
    }
}
