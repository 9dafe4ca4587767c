import Foundation
import Postgres
import TestSupport
import Testing

/// PostgreSQL 16+: `reserved_connections` keeps slots for members of `pg_use_reserved_connections`,
/// so that pgwarden, granted it, still connects when a pile-up has taken every other slot.
@Suite(
    "Reserved connections (PostgreSQL 16+)",
    .serialized,
    .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason),
    .enabled("pg_use_reserved_connections exists from PostgreSQL 16") {
        try await TestCluster.serverVersion().split(separator: ".").first.flatMap { Int($0) } ?? 0 >= 16
    }
)
struct ReservedConnectionsTests {
    @Test("a pile-up fills max_connections: pgwarden, granted pg_use_reserved_connections, still sees and clears it")
    func pgwardenConnectsThroughAPileUp() async throws {
        let cluster = try PrivateCluster(settings: [
            "max_connections = 10", "superuser_reserved_connections = 1", "reserved_connections = 2",
        ])
        defer { cluster.destroy() }
        let admin = try await connect(cluster, user: "postgres", "admin")
        for statement in [
            "CREATE ROLE app LOGIN", "CREATE ROLE warden LOGIN IN ROLE pg_monitor, pg_signal_backend",
            "CREATE ROLE unreserved LOGIN IN ROLE pg_monitor, pg_signal_backend",
            "GRANT pg_use_reserved_connections TO warden",
            "CREATE TABLE t (id int)", "ALTER TABLE t OWNER TO app",
        ] {
            _ = try await admin.query(statement)
        }
        // Before the pile-up: the role without the grant is told what it will lack.
        let warned = try await PGWardenCommand.run(["locks", "--dsn", cluster.connectionString(user: "unreserved")])
        #expect(warned.status == 0, "\(warned.standardError)")
        #expect(warned.standardError.contains("warning: role unreserved cannot use reserved connections"))

        // The pile-up: a reader idle in its transaction, an ALTER behind it, SELECTs behind the
        // ALTER, until the server refuses the application another connection.
        let holder = try await connect(cluster, user: "app", "forgotten")
        _ = try await holder.query("BEGIN")
        _ = try await holder.query("SELECT count(*) FROM t")
        let alter = try await connect(cluster, user: "app", "migration")
        // A session's pid is read before its statement starts: the session is busy until the statement ends.
        var waiterPIDs = [await alter.backendPID]
        var sessions = [holder, alter]
        var statements = [Task { _ = try await alter.query("ALTER TABLE t ADD COLUMN c int") }]
        try await waitUntilWaiting(waiterPIDs, admin)  // else a SELECT could slip in ahead of the ALTER
        var refusal: String?
        while refusal == nil, sessions.count < 12 {
            switch await connectOrRefusal(cluster, user: "app", "web") {
            case .success(let select):
                sessions.append(select)
                waiterPIDs.append(await select.backendPID)
                statements.append(Task { _ = try await select.query("SELECT count(*) FROM t") })
            case .failure(let error):
                refusal = error.message
            }
        }
        #expect(
            refusal?.contains("reserved for roles with privileges of the \"pg_use_reserved_connections\" role") == true
        )
        let waiters = waiterPIDs.count
        try await waitUntilWaiting(waiterPIDs, admin)
        await #expect(throws: PostgresError.self) { try await connect(cluster, user: "unreserved", "no-grant") }

        // pgwarden, as the granted role, sees the whole pile-up and clears it.
        let locks = try await PGWardenCommand.run([
            "locks", "--json", "--dsn", cluster.connectionString(user: "warden"),
        ])
        #expect(locks.status == 0, "\(locks.standardError)")
        #expect(locks.standardError.isEmpty)
        let snapshot = try #require(
            try JSONSerialization.jsonObject(with: Data(locks.standardOutput.utf8)) as? [String: Any]
        )
        #expect((snapshot["waits"] as? [Any])?.count == waiters)
        let root = (snapshot["blockers"] as? [[String: Any]])?.first { $0["root"] as? Bool == true }
        #expect(root?["pid"] as? Int == Int(await holder.backendPID))
        let cancel = try await PGWardenCommand.run([
            "cancel", "--terminate", "\(await holder.backendPID)", "--dsn", cluster.connectionString(user: "warden"),
        ])
        #expect(cancel.status == 0, "\(cancel.standardError)")
        for statement in statements { try await statement.value }

        for session in sessions.dropFirst() { await session.close() }
        await holder.close()
        await admin.close()
    }

    /// Waits until every one of `pids` waits on a lock; on a time-out, records what the sessions do.
    private func waitUntilWaiting(_ pids: [Int32], _ admin: Connection) async throws {
        do {
            try await eventually("sessions \(pids) wait on locks") {
                try await admin.query(
                    "SELECT count(DISTINCT pid)::int AS n FROM pg_locks WHERE NOT granted AND pid = ANY($1)",
                    [pids]
                ).rows[0].require(Int.self, "n") == pids.count
            }
        } catch {
            let sessions = try await admin.query(
                "SELECT string_agg(format('%s %s %s %s', pid, state, wait_event, query), '; ') AS s"
                    + " FROM pg_stat_activity WHERE backend_type = 'client backend'"
            ).rows[0].decode(String.self, "s")
            Issue.record("\(error); sessions: \(sessions ?? "none")")
            throw error
        }
    }

    private func connectOrRefusal(_ cluster: PrivateCluster, user: String, _ applicationName: String) async
        -> Result<Connection, PostgresError>
    {
        do {
            return .success(try await connect(cluster, user: user, applicationName))
        } catch {
            return .failure(error)
        }
    }

    private func connect(_ cluster: PrivateCluster, user: String, _ applicationName: String) async throws(PostgresError)
        -> Connection
    {
        try await Connection.connect(
            ConnectionConfiguration(
                connectionString: cluster.connectionString(user: user),
                applicationName: applicationName
            ),
            logger: TestCluster.logger
        )
    }
}
