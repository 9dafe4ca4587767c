import Logging
import Postgres

/// pgwarden's own sessions: recognisable by name, and never stuck behind a lock themselves.
public enum InspectorSession {
    /// The `application_name` of every session pgwarden opens to watch or act.
    public static let applicationName = "pgwarden"
    /// `statement_timeout` of pgwarden's sessions, in milliseconds.
    public static let statementTimeoutMilliseconds = 5_000
    /// `lock_timeout` of pgwarden's sessions, in milliseconds: the inspector never queues behind a lock.
    public static let lockTimeoutMilliseconds = 1_000

    /// The configuration of a pgwarden session to the server that `connectionString` names.
    ///
    /// JIT is off: the planner's row estimates for `pg_lock_status` and `pg_stat_get_activity`
    /// would otherwise push the lock query past `jit_above_cost`, and compiling it costs a second.
    public static func configuration(connectionString: String?) -> ConnectionConfiguration {
        ConnectionConfiguration(
            connectionString: connectionString,
            applicationName: applicationName,
            sessionSettings: [
                ("statement_timeout", "\(statementTimeoutMilliseconds)ms"),
                ("lock_timeout", "\(lockTimeoutMilliseconds)ms"),
                ("jit", "off"),
            ]
        )
    }

    /// Opens a pgwarden session and reads what its role may see and do.
    public static func open(
        connectionString: String?,
        logger: Logger
    ) async throws(PostgresError) -> (Connection, SessionRole) {
        let connection = try await Connection.connect(configuration(connectionString: connectionString), logger: logger)
        let role = try await SessionRole.read(on: connection)
        return (connection, role)
    }
}
