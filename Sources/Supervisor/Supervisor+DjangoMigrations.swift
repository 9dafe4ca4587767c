import LockInspection
import PGWardenSQL
import Postgres

extension Supervisor {
    /// `django_migrations`, as the role can read it (`nil`: no such table): a role without `SELECT` on the table
    /// gets a warning with the grant, and the run goes on without the check, as for `alembic_version`.
    func djangoMigrations(on connection: Connection, role: String) async throws -> DjangoMigrations? {
        let result: QueryResult
        do {
            result = try await InspectorSession.queryOnRoleSearchPath(Queries.djangoMigrations, on: connection)
        } catch {
            guard error.sqlState == PostgresError.SQLState.insufficientPrivilege else { throw error }
            log.warn(
                "role \(role) may not read django_migrations, so it is not checked before and after the run"
                    + " (GRANT SELECT ON django_migrations TO \(role) lets it)"
            )
            return nil
        }
        return try result.rows.first?.decode(String.self, "migrations").map(DjangoMigrations.init(column:))
    }
}
