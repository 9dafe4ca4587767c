import CLibPQ
import WardenSupport

/// libpq's environment variables for a connection string, so that a child process using
/// libpq (psql, psycopg2, Alembic) reaches the same server without the string being pasted
/// into its command line.
package enum ConnectionEnvironment {
    private static let variables: [String: String] = [
        "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER",
        "password": "PGPASSWORD", "passfile": "PGPASSFILE", "service": "PGSERVICE", "sslmode": "PGSSLMODE",
        "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
        "connect_timeout": "PGCONNECT_TIMEOUT",
        "options": "PGOPTIONS", "target_session_attrs": "PGTARGETSESSIONATTRS",
    ]

    /// The variables for the settings `connectionString` makes.
    ///
    /// - Throws: ``PostgresError`` `invalidConnectionString` when libpq cannot parse it.
    package static func variables(for connectionString: String) throws(PostgresError) -> [String: String] {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &message) else {
            let text = message.map { String(cString: $0) } ?? "cannot parse the connection string"
            if let message { PQfreemem(message) }
            throw PostgresError(
                code: .invalidConnectionString,
                message: Redaction.libpqMessage(
                    text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text,
                    connectionString: connectionString,
                    parseFailed: true
                )
            )
        }
        defer { PQconninfoFree(options) }
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val, let name = variables[String(cString: keyword)] {
                result[name] = String(cString: value)
            }
            option += 1
        }
        return result
    }
}
