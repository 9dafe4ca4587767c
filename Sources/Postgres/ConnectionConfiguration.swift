/// How to reach a server and how pgwarden's session behaves once there.
///
/// The connection string is handed to libpq whole (`expand_dbname`), so every
/// form psql accepts works here, and libpq's environment (`PGHOST`, `PGUSER`,
/// `PGPASSWORD`, `PGSERVICE`, `~/.pgpass`, …) fills in what it leaves out.
/// Nothing here ever pastes a password into a string.
public struct ConnectionConfiguration: Sendable {
    /// A libpq `key=value` string or `postgresql://` URI; `nil` uses the environment alone.
    public var connectionString: String?
    /// The session's `application_name`, so operators and pgwarden itself recognise it.
    public var applicationName: String
    /// libpq's `connect_timeout` in seconds, used unless the connection string or
    /// `PGCONNECT_TIMEOUT` sets one.
    public var defaultConnectTimeout: Int
    /// The session's `statement_timeout`, in milliseconds; `nil` leaves the server's.
    public var statementTimeoutMilliseconds: Int?
    /// The session's `lock_timeout`, in milliseconds; `nil` leaves the server's.
    public var lockTimeoutMilliseconds: Int?

    /// Creates a configuration.
    public init(
        connectionString: String?,
        applicationName: String,
        defaultConnectTimeout: Int = 10,
        statementTimeoutMilliseconds: Int? = nil,
        lockTimeoutMilliseconds: Int? = nil
    ) {
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.defaultConnectTimeout = defaultConnectTimeout
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
    }
}
