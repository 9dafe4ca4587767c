import Foundation
import Logging
import Postgres
import Testing

/// The PostgreSQL cluster that `scripts/test` starts, reached through libpq's environment.
package enum TestCluster {
    /// True when `scripts/test` started a cluster for the tests (`PGWARDEN_TEST_CLUSTER=1`).
    package static let isAvailable = ProcessInfo.processInfo.environment["PGWARDEN_TEST_CLUSTER"] == "1"

    /// Why integration tests are skipped when there is no cluster.
    package static let unavailableReason: Comment = "no test cluster: run scripts/test (it sets PGWARDEN_TEST_CLUSTER=1)"

    /// A logger for test connections.
    package static let logger = Logger(label: "pgwarden.tests")

    /// A connection to the cluster's maintenance database as the bootstrap superuser.
    package static func administrator() async throws -> Connection {
        try await Connection.connect(
            ConnectionConfiguration(connectionString: "dbname=postgres", applicationName: "pgwarden-tests-admin"),
            logger: logger
        )
    }

    /// The server's version as its `server_version` setting starts, without a packager's suffix: `15.14`, `16.2`.
    package static func serverVersion() async throws -> String {
        let admin = try await administrator()
        defer { Task { await admin.close() } }
        let setting = try await admin.query("SELECT current_setting('server_version') AS v").rows[0]
            .require(String.self, "v")
        return String(setting.split(separator: " ").first ?? "")
    }

    /// Whether `pg_stat_statements` is installed (the PostgreSQL 16.2 wheel ships without it).
    package static func hasPgStatStatements() async throws -> Bool {
        guard isAvailable else { return false }
        let admin = try await administrator()
        defer { Task { await admin.close() } }
        return !(try await admin.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").rows.isEmpty)
    }

    /// A unique, SQL-safe name with `prefix`.
    package static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.prefix(8).lowercased()
    }
}
