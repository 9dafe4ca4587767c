import Foundation
import Postgres

/// A database of its own for one test, so that tests run in parallel without seeing each other's locks.
package struct ScratchDatabase: Sendable {
    /// The database's name.
    package let name: String

    /// A libpq connection string for it (host, port and user come from the environment).
    package var connectionString: String { "dbname=\(name)" }

    /// Opens a client session, as an application would, named `applicationName`.
    package func session(_ applicationName: String = "pgwarden-tests", user: String? = nil) async throws -> Connection {
        try await Connection.connect(
            ConnectionConfiguration(
                connectionString: connectionString + (user.map { " user=\($0)" } ?? ""),
                applicationName: applicationName
            ),
            logger: TestCluster.logger
        )
    }

    /// Creates a database, runs `body` with it, and drops it afterwards (also when `body` throws),
    /// first rolling back any prepared transaction left in it.
    package static func with<Result>(
        _ body: (ScratchDatabase) async throws -> Result
    ) async throws -> Result {
        let database = ScratchDatabase(name: TestCluster.uniqueName("pgw_test"))
        let admin = try await TestCluster.administrator()
        _ = try await admin.query("CREATE DATABASE \(database.name)")
        do {
            let result = try await body(database)
            try await database.drop(using: admin)
            return result
        } catch {
            try? await database.drop(using: admin)
            throw error
        }
    }

    private func drop(using admin: Connection) async throws {
        let prepared = try await admin.query("SELECT gid FROM pg_prepared_xacts WHERE database = $1", [name])
        for row in prepared.rows {
            let gid = try row.require(String.self, "gid")
            let session = try await self.session()
            _ = try await session.query("ROLLBACK PREPARED '\(gid.replacingOccurrences(of: "'", with: "''"))'")
            await session.close()
        }
        _ = try await admin.query("DROP DATABASE \(name) WITH (FORCE)")
        await admin.close()
    }
}
