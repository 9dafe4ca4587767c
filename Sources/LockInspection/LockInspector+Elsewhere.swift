import PGWardenSQL
import Postgres

extension LockInspector {
    /// The databases other than the connection's where sessions wait on a lock, most waiters
    /// first: one cheap query (`sql/waits_in_other_databases.sql`), for when the connection's
    /// database shows nothing.
    public func waitsInOtherDatabases() async throws(PostgresError) -> [(database: String, count: Int)] {
        let result = try await connection.query(Queries.waitsInOtherDatabases)
        var counts: [(database: String, count: Int)] = []
        for row in result.rows {
            counts.append((try row.require(String.self, "datname"), Int(try row.require(Int32.self, "waiting"))))
        }
        return counts
    }
}
