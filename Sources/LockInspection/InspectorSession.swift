import FoundationEssentials
import Logging
import Postgres

/// pgwarden's own sessions: recognisable by name, and never stuck behind a lock themselves.
package enum InspectorSession {
    /// The `application_name` of every session pgwarden opens to watch or act.
    package static let applicationName = "pgwarden"
    /// `statement_timeout` of pgwarden's sessions, in milliseconds.
    package static let statementTimeoutMilliseconds = 5_000
    /// `lock_timeout` of pgwarden's sessions, in milliseconds: the inspector never queues behind a lock.
    package static let lockTimeoutMilliseconds = 1_000

    /// Where a session looks up the names its statements use.
    package enum NameLookup: Sendable {
        /// PostgreSQL's own catalog only (`search_path = pg_catalog, pg_temp`): a function that a
        /// database user created in `public` under a built-in's name, with a closer argument type,
        /// would otherwise run as pgwarden's role at every poll, or break the poll.
        case catalog
        /// The role's own `search_path`, as the migration sees it: for the forecast, which resolves
        /// the migration's table and type names.
        case role
    }

    /// The configuration of a pgwarden session to the server that `connectionString` names.
    ///
    /// JIT is off: the planner's row estimates for `pg_lock_status` and `pg_stat_get_activity`
    /// would otherwise push the lock query past `jit_above_cost`, and compiling it costs a second.
    package static func configuration(
        connectionString: String?,
        names: NameLookup = .catalog
    ) -> ConnectionConfiguration {
        var settings: [(name: String, value: String)] = [
            ("statement_timeout", "\(statementTimeoutMilliseconds)ms"),
            ("lock_timeout", "\(lockTimeoutMilliseconds)ms"),
            ("jit", "off"),
        ]
        if names == .catalog { settings.append(("search_path", "pg_catalog, pg_temp")) }
        return ConnectionConfiguration(
            connectionString: connectionString,
            applicationName: applicationName,
            sessionSettings: settings
        )
    }

    /// Opens a pgwarden session and reads what its role may see and do.
    package static func open(
        connectionString: String?,
        names: NameLookup = .catalog,
        logger: Logger
    ) async throws(PostgresError) -> (Connection, SessionRole) {
        let connection = try await Connection.connect(
            configuration(connectionString: connectionString, names: names),
            logger: logger
        )
        let role = try await SessionRole.read(on: connection)
        return (connection, role)
    }

    /// Opens a pgwarden session and looks at its server once (``SingleLook``): its settings and
    /// the look's statements are sent together, one round trip after connecting.
    package static func openLooking(
        connectionString: String?,
        scope: LockInspector.Scope,
        logger: Logger
    ) async throws(PostgresError) -> (Connection, SingleLook) {
        let (connection, results) = try await Connection.connect(
            configuration(connectionString: connectionString),
            logger: logger
        ) { serverVersion in SingleLook.statements(serverVersion: serverVersion, scope: scope) }
        return (connection, try SingleLook(results, scope: scope, takenAt: Date()))
    }

    /// Runs `sql` on a ``NameLookup/catalog`` session with the role's own `search_path` (its
    /// `reset_val`), in a transaction of its own: for a statement that names the migration's
    /// tables, such as `sql/alembic_version.sql`.
    package static func queryOnRoleSearchPath(
        _ sql: String,
        on connection: Connection
    ) async throws(PostgresError) -> QueryResult {
        _ = try await connection.query("BEGIN")
        do throws(PostgresError) {
            _ = try await connection.query(
                """
                SELECT pg_catalog.set_config('search_path', setting.reset_val, true)
                FROM pg_catalog.pg_settings AS setting WHERE setting.name = 'search_path'
                """
            )
            let result = try await connection.query(sql)
            _ = try await connection.query("COMMIT")
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw error
        }
    }
}
