import Forecast
import PGWardenSQL
import Postgres

/// Reads who holds or waits for locks on the migration's relations right now, and how busy they are.
package enum LiveReader {
    /// Other sessions' locks on `relations` (by oid) and their activity, sampled over `sampling`.
    package static func read(
        relations: [UInt32],
        sampling: Duration,
        on connection: Connection,
        clock: some Clock<Duration> = ContinuousClock()
    ) async throws -> LiveFacts {
        guard !relations.isEmpty else { return LiveFacts() }
        let oids = ArrayLiteral.oids(relations)
        let locks = try await readLocks(oids, on: connection)
        let first = try await counters(oids, on: connection)
        let start = clock.now
        try await clock.sleep(for: sampling)
        let second = try await counters(oids, on: connection)
        let elapsed = start.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var activity: [String: RelationActivity] = [:]
        for (relation, after) in second {
            guard let before = first[relation], seconds > 0 else { continue }
            activity[relation] = RelationActivity(
                scansPerSecond: Double(after.scans - before.scans) / seconds,
                rowsWrittenPerSecond: Double(after.written - before.written) / seconds
            )
        }
        return LiveFacts(locks: locks, activity: activity, samplingSeconds: seconds)
    }

    private static func readLocks(_ oids: String, on connection: Connection) async throws(PostgresError) -> [LiveLock] {
        var locks: [LiveLock] = []
        for row in try await connection.query(Queries.forecastLiveLocks, [oids]).rows {
            guard let mode = LockMode(name: try row.require(String.self, "mode")) else { continue }
            locks.append(
                LiveLock(
                    relation: try row.require(String.self, "relation"),
                    pid: Int32(try row.require(Int.self, "pid")),
                    mode: mode,
                    granted: try row.require(Bool.self, "granted"),
                    state: try row.decode(String.self, "state"),
                    transactionSeconds: try row.decode(Double.self, "xact_seconds"),
                    applicationName: try row.decode(String.self, "application_name"),
                    query: try row.decode(String.self, "query"),
                    identity: LiveSessionIdentity(
                        backendStart: try row.decode(String.self, "backend_start"),
                        xactStart: try row.decode(String.self, "xact_start"),
                        queryStart: try row.decode(String.self, "query_start"),
                        usename: try row.decode(String.self, "usename"),
                        backendType: try row.decode(String.self, "backend_type")
                    )
                )
            )
        }
        return locks
    }

    private static func counters(_ oids: String, on connection: Connection) async throws(PostgresError)
        -> [String: (scans: Int, written: Int)]
    {
        var counters: [String: (scans: Int, written: Int)] = [:]
        for row in try await connection.query(Queries.forecastTableActivity, [oids]).rows {
            counters[try row.require(String.self, "relation")] = (
                try row.require(Int.self, "scans"), try row.require(Int.self, "rows_written")
            )
        }
        return counters
    }
}
