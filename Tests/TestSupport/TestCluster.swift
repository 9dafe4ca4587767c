import Foundation
import Logging
import Postgres
import Testing

/// The PostgreSQL cluster that `scripts/test` starts, reached through libpq's environment.
public enum TestCluster {
    /// True when `scripts/test` started a cluster for the tests (`PGWARDEN_TEST_CLUSTER=1`).
    public static let isAvailable = ProcessInfo.processInfo.environment["PGWARDEN_TEST_CLUSTER"] == "1"

    /// Why integration tests are skipped when there is no cluster.
    public static let unavailableReason: Comment = "no test cluster: run scripts/test (it sets PGWARDEN_TEST_CLUSTER=1)"

    /// A logger for test connections.
    public static let logger = Logger(label: "pgwarden.tests")

    /// A connection to the cluster's maintenance database as the bootstrap superuser.
    public static func administrator() async throws -> Connection {
        try await Connection.connect(
            ConnectionConfiguration(connectionString: "dbname=postgres", applicationName: "pgwarden-tests-admin"),
            logger: logger
        )
    }

    /// A unique, SQL-safe name with `prefix`.
    public static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.prefix(8).lowercased()
    }
}
