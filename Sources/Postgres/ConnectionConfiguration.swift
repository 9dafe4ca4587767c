/// How to reach a server and how pgwarden's session behaves once there.
///
/// The connection string is handed to libpq whole (`expand_dbname`), so every
/// form psql accepts works here, and libpq's environment (`PGHOST`, `PGUSER`,
/// `PGPASSWORD`, `PGSERVICE`, `~/.pgpass`, …) fills in what it leaves out.
/// Nothing here ever pastes a password into a string.
package struct ConnectionConfiguration: Sendable {
    /// A libpq `key=value` string or `postgresql://` URI; `nil` uses the environment alone.
    package var connectionString: String?
    /// The session's `application_name`, so operators and pgwarden itself recognise it.
    package var applicationName: String
    /// libpq's `connect_timeout` in seconds, used unless the connection string or
    /// `PGCONNECT_TIMEOUT` sets one.
    package var defaultConnectTimeout: Int
    /// Run-time parameters set for the session once connected, in order, such as
    /// `("statement_timeout", "5s")`. Set with `set_config`, all in one statement
    /// (``SessionSettingsStatement``), so that the connection
    /// string's own `options` and `PGOPTIONS` keep working.
    package var sessionSettings: [(name: String, value: String)]

    /// Creates a configuration.
    package init(
        connectionString: String?,
        applicationName: String,
        defaultConnectTimeout: Int = 10,
        sessionSettings: [(name: String, value: String)] = []
    ) {
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.defaultConnectTimeout = defaultConnectTimeout
        self.sessionSettings = sessionSettings
    }
}
