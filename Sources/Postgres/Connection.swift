import CLibPQ
import Logging
import WardenSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One libpq connection to a PostgreSQL server.
///
/// Every libpq call runs on the connection's own serial queue, never on Swift's
/// cooperative thread pool. Statements are parameterised; results are copied
/// out and freed before a call returns; the connection is finished on
/// ``close()``, on deinitialisation, and after a failed connect.
package actor Connection {
    private let executor: QueueExecutor
    private var handle: OpaquePointer?
    private let notices: NoticeBuffer
    private let logger: Logger
    /// The names of the statements prepared on this session; `nil` once the session is found
    /// not to keep them, and statements run unnamed.
    private var preparedNames: Set<String>? = []

    /// The backend process id of this session on the server.
    package private(set) var backendPID: Int32 = 0
    /// The server's version as an integer, such as `150018`.
    package private(set) var serverVersion: Int = 0

    package nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    private init(logger: Logger) {
        executor = QueueExecutor(label: "pgwarden.postgres.connection")
        notices = NoticeBuffer()
        self.logger = logger
    }

    isolated deinit {
        if let handle { PQfinish(handle) }
    }

    /// Connects, applies the session settings, and returns the open connection.
    ///
    /// - Throws: ``PostgresError`` with code `invalidConnectionString` when libpq
    ///   cannot parse the connection string, `connectionFailed` when the server is
    ///   unreachable or refuses the session.
    package static func connect(
        _ configuration: ConnectionConfiguration,
        logger: Logger
    ) async throws(PostgresError) -> Connection {
        let connection = Connection(logger: logger)
        try await connection.open(configuration)
        return connection
    }

    /// Connects, and runs the statements that `first` makes of the server's version
    /// (`server_version_num`, known from the connection) in the same round trip as the session
    /// settings: all are sent at once (libpq's pipeline mode), and the server runs them in order,
    /// the settings first, in one transaction. Returns their results, the settings' left out.
    ///
    /// For a command that runs a few statements and ends (`pgwarden locks` without `--watch`):
    /// the settings are still `set_config` calls, as in ``connect(_:logger:)``, not startup
    /// parameters, so that the connection string's own `options` and `PGOPTIONS` keep working,
    /// and a pooler that refuses unknown startup parameters (PgBouncer) lets the session in.
    package static func connect(
        _ configuration: ConnectionConfiguration,
        logger: Logger,
        running first: @Sendable (_ serverVersion: Int) -> [PipelinedStatement]
    ) async throws(PostgresError) -> (Connection, [QueryResult]) {
        let connection = Connection(logger: logger)
        let results = try await connection.openRunning(configuration, first)
        return (connection, results)
    }

    /// Finishes the connection. Later statements fail with `connectionLost`.
    package func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    /// Runs one statement with text parameters and returns its rows.
    ///
    /// - Parameters:
    ///   - sql: The statement; parameters are written `$1`, `$2`, ….
    ///   - parameters: The values; `nil` binds SQL `NULL`.
    package func query(
        _ sql: String,
        _ parameters: [(any PostgresEncodable)?] = []
    ) throws(PostgresError) -> QueryResult {
        try send(parameters) { handle, values in
            PQexecParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
    }

    /// Runs a statement prepared on this session, preparing it on its first run.
    ///
    /// A session that does not keep the statement gets it unnamed, at this run and every
    /// later one: a pooler in transaction mode runs the next message on another server
    /// session, which answers `26000` (no such statement) or `42P05` (the name is taken).
    /// Neither answer ran anything, so the statement runs exactly once either way, and a
    /// name taken by another text is never run. A statement the server refuses to prepare
    /// for another reason runs unnamed this time, and reports its own error.
    package func query(
        _ statement: PreparedStatement,
        _ parameters: [(any PostgresEncodable)?] = []
    ) throws(PostgresError) -> QueryResult {
        guard let prepared = preparedNames else { return try query(statement.sql, parameters) }
        if !prepared.contains(statement.name) {
            do throws(PostgresError) {
                _ = try send([]) { handle, _ in
                    PQprepare(handle, statement.name, statement.sql, Int32(parameters.count), nil)
                }
            } catch let error where error.code == .server {
                if error.sqlState == PostgresError.SQLState.duplicatePreparedStatement { preparedNames = nil }
                return try query(statement.sql, parameters)
            }
            preparedNames?.insert(statement.name)
        }
        do throws(PostgresError) {
            return try send(parameters) { handle, values in
                PQexecPrepared(handle, statement.name, Int32(values.count), values, nil, nil, 0)
            }
        } catch let error where error.sqlState == PostgresError.SQLState.invalidSQLStatementName {
            logger.debug("prepared statements are not kept on this session", metadata: ["name": "\(statement.name)"])
            preparedNames = nil
            return try query(statement.sql, parameters)
        }
    }

    /// What one statement of a pipeline came to.
    package enum PipelineOutcome: Sendable {
        /// It ran and returned these rows (none for a command).
        case ran(QueryResult)
        /// The server refused it.
        case failed(PostgresError)
        /// It was not run: an earlier statement of the pipeline failed.
        case notRun
    }

    /// Runs `statements` in order in one round trip (libpq's pipeline mode): each as ``query(_:_:)`` would run it
    /// without parameters, in the session's transaction as it stands (one `Sync` at the end: without an explicit
    /// `BEGIN` they share one implicit transaction). After the first that fails, the server runs none of the rest.
    ///
    /// - Throws: ``PostgresError`` with code `connectionLost` when the session ends; the server's refusal of a
    ///   statement is its outcome, not an error.
    package func pipeline(_ statements: [String]) throws(PostgresError) -> [PipelineOutcome] {
        try pipeline(statements.map { PipelinedStatement(sql: $0) })
    }

    /// Runs `statements` in order in one round trip, as the form without parameters does, each
    /// with its parameters.
    package func pipeline(_ statements: [PipelinedStatement]) throws(PostgresError) -> [PipelineOutcome] {
        guard let handle else {
            throw PostgresError(code: .connectionLost, message: "the connection is closed")
        }
        notices.removeAll()
        guard PQenterPipelineMode(handle) == 1 else { throw Self.connectionError(handle, code: .connectionLost) }
        defer { PQexitPipelineMode(handle) }
        for statement in statements {
            let sent = withCStringArray(statement.parameters) { values in
                PQsendQueryParams(handle, statement.sql, Int32(values.count), nil, values, nil, nil, 0)
            }
            guard sent == 1 else { throw Self.connectionError(handle, code: .connectionLost) }
        }
        guard PQpipelineSync(handle) == 1 else { throw Self.connectionError(handle, code: .connectionLost) }
        var outcomes: [PipelineOutcome] = []
        for _ in statements {
            let result = PQgetResult(handle)
            defer { PQclear(result) }
            if let result, PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                outcomes.append(.notRun)
            } else {
                do throws(PostgresError) {
                    outcomes.append(.ran(try Self.read(result, connection: handle, notices: notices.drain())))
                } catch  where error.code == .server {
                    outcomes.append(.failed(error))
                }
            }
            while let rest = PQgetResult(handle) { PQclear(rest) }  // the statement's results end with none
        }
        let sync = PQgetResult(handle)
        defer { PQclear(sync) }
        guard let sync, PQresultStatus(sync) == PGRES_PIPELINE_SYNC else {
            throw Self.connectionError(handle, code: .connectionLost)
        }
        return outcomes
    }

    /// Sends one libpq command with the parameters as C strings, and reads its result.
    private func send(
        _ parameters: [(any PostgresEncodable)?],
        _ command: (_ handle: OpaquePointer, _ values: [UnsafePointer<CChar>?]) -> OpaquePointer?
    ) throws(PostgresError) -> QueryResult {
        guard let handle else {
            throw PostgresError(code: .connectionLost, message: "the connection is closed")
        }
        notices.removeAll()
        let result = withCStringArray(parameters.map { $0?.postgresText }) { values in command(handle, values) }
        defer { PQclear(result) }
        return try Self.read(result, connection: handle, notices: notices.drain())
    }

    private func open(_ configuration: ConnectionConfiguration) throws(PostgresError) {
        try connect(configuration)
        if let settings = SessionSettingsStatement.make(configuration.sessionSettings) {
            _ = try query(settings.sql, settings.parameters)
        }
    }

    /// Connects, then runs the session settings and `first`'s statements in one round trip, and
    /// returns the statements' results.
    private func openRunning(
        _ configuration: ConnectionConfiguration,
        _ first: (_ serverVersion: Int) -> [PipelinedStatement]
    ) throws(PostgresError) -> [QueryResult] {
        try connect(configuration)
        let settings = SessionSettingsStatement.make(configuration.sessionSettings).map {
            PipelinedStatement(sql: $0.sql, parameters: $0.parameters)
        }
        var results: [QueryResult] = []
        for outcome in try pipeline((settings.map { [$0] } ?? []) + first(serverVersion)) {
            switch outcome {
            case .ran(let result): results.append(result)
            case .failed(let error): throw error
            case .notRun: throw PostgresError(code: .unexpectedResult, message: "a pipelined statement was not run")
            }
        }
        return Array(results.dropFirst(settings == nil ? 0 : 1))
    }

    /// Opens the connection, without the session settings.
    private func connect(_ configuration: ConnectionConfiguration) throws(PostgresError) {
        try Self.validate(configuration.connectionString)
        var parameters: [(String, String)] = []
        if !Self.environmentSetsConnectTimeout() {
            // Before the connection string, so that one set there wins.
            parameters.append(("connect_timeout", String(configuration.defaultConnectTimeout)))
        }
        if let connectionString = configuration.connectionString {
            parameters.append(("dbname", connectionString))
        }
        parameters.append(("application_name", configuration.applicationName))

        let handle = withCStringArray(parameters.map(\.0)) { keywords in
            withCStringArray(parameters.map(\.1)) { values in
                PQconnectdbParams(keywords + [nil], values + [nil], 1)
            }
        }
        guard let handle else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let error = Self.connectionError(
                handle,
                code: .connectionFailed,
                connectionString: configuration.connectionString
            )
            PQfinish(handle)
            throw error
        }
        self.handle = handle
        backendPID = PQbackendPID(handle)
        serverVersion = Int(PQserverVersion(handle))
        PQsetNoticeReceiver(handle, noticeReceiver, Unmanaged.passUnretained(notices).toOpaque())
        logger.debug(
            "connected",
            metadata: ["backend_pid": "\(backendPID)", "server_version": "\(serverVersion)"]
        )
    }

    private static func validate(_ connectionString: String?) throws(PostgresError) {
        guard let connectionString, isExpandable(connectionString) else { return }
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &message) else {
            let text = message.map { String(cString: $0) } ?? "cannot parse the connection string"
            if let message { PQfreemem(message) }
            throw PostgresError(
                code: .invalidConnectionString,
                message: Redaction.libpqMessage(
                    firstLine(of: text),
                    connectionString: connectionString,
                    parseFailed: true
                )
            )
        }
        PQconninfoFree(options)
    }

    /// libpq treats `dbname` as a connection string when it holds `=` or starts with a URI scheme.
    private static func isExpandable(_ text: String) -> Bool {
        text.contains("=") || text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    private static func environmentSetsConnectTimeout() -> Bool {
        guard let value = getenv("PGCONNECT_TIMEOUT") else { return false }
        return !String(cString: value).isEmpty
    }

    /// libpq's message, without the connection string's secrets (libpq may quote parts of it).
    private static func connectionError(
        _ handle: OpaquePointer,
        code: PostgresError.Code,
        connectionString: String? = nil
    ) -> PostgresError {
        let text = Redaction.libpqMessage(
            String(cString: PQerrorMessage(handle)),
            connectionString: connectionString,
            parseFailed: false
        )
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }
        return PostgresError(
            code: code,
            message: lines.first ?? "connection failed",
            detail: lines.count > 1 ? lines.dropFirst().joined(separator: " ") : nil
        )
    }

    private static func read(
        _ result: OpaquePointer?,
        connection: OpaquePointer,
        notices: [ServerNotice]
    ) throws(PostgresError) -> QueryResult {
        guard let result else {
            throw connectionError(connection, code: .connectionLost)
        }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            let columnCount = PQnfields(result)
            let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
            let values = (0..<PQntuples(result)).map { row in
                (0..<columnCount).map { column -> String? in
                    PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                }
            }
            return QueryResult(columns: columns, values: values, notices: notices)
        default:
            if PQstatus(connection) != CONNECTION_OK {
                throw connectionError(connection, code: .connectionLost)
            }
            let field = { (code: UInt8) -> String? in
                PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
            }
            throw PostgresError(
                code: .server,
                message: field(UInt8(ascii: "M")) ?? firstLine(of: String(cString: PQresultErrorMessage(result))),
                sqlState: field(UInt8(ascii: "C")),
                detail: field(UInt8(ascii: "D")),
                hint: field(UInt8(ascii: "H"))
            )
        }
    }
}

private func firstLine(of text: String) -> String {
    text.split(whereSeparator: \.isNewline).first.map { $0.trimmingWhitespace() } ?? text
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// Calls `body` with NUL-terminated copies of `strings`, freed afterwards.
private func withCStringArray<Result>(
    _ strings: [String?],
    _ body: ([UnsafePointer<CChar>?]) -> Result
) -> Result {
    let copies = strings.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    return body(copies.map { $0.map { UnsafePointer<CChar>($0) } })
}
