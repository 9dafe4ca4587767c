import LockInspection
import Postgres
import TestSupport

extension ScratchDatabase {
    /// pgwarden's own session on this database, ready to poll.
    func inspector(scope: LockInspector.Scope = .currentDatabase) async throws -> LockInspector {
        let (connection, role) = try await InspectorSession.open(
            connectionString: connectionString,
            logger: TestCluster.logger
        )
        return LockInspector(connection: connection, role: role, scope: scope)
    }
}
