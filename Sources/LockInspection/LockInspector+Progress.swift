import PGWardenSQL
import Postgres
import WaitGraph

extension LockInspector {
    /// `snapshot` with the progress of each root blocker whose statement a progress view covers
    /// (`sql/backend_progress.sql`): one query, run only when there are root blockers, so a poll while nothing waits
    /// costs nothing more. PostgreSQL 14+ (below: the snapshot unchanged).
    package func addingProgress(to snapshot: LockSnapshot) async throws(PostgresError) -> LockSnapshot {
        let pids = snapshot.roots.filter { $0.pid != 0 && $0.activity?.state == "active" }.map(\.pid)
        guard !pids.isEmpty, role.serverVersion >= 140000 else { return snapshot }
        let result = try await connection.query(Queries.backendProgress, [pids])
        var progress: [Int32: BackendProgress] = [:]
        for row in result.rows {
            progress[try row.require(Int32.self, "pid")] = BackendProgress(
                command: try row.require(String.self, "command"),
                phase: try row.decode(String.self, "phase"),
                done: try row.decode(Double.self, "done"),
                total: try row.decode(Double.self, "total"),
                unit: try row.decode(String.self, "unit"),
                relation: try row.decode(String.self, "relation"),
                runningSeconds: try row.decode(Double.self, "running_seconds") ?? 0
            )
        }
        var updated = snapshot
        for index in updated.blockers.indices {
            updated.blockers[index].progress = progress[updated.blockers[index].pid]
        }
        return updated
    }
}
